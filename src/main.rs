fn main() {
    std::process::exit(haconf::cli::main());
}
