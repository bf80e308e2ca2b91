// mimalloc: the parsers allocate many small objects, and glibc's allocator spends more time
// in page faults and frees than the parser spends parsing (see BENCHMARKS.md). Ruff makes the
// same choice for the same reason.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(haconf::cli::main());
}
