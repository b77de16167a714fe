fn main() {
    println!("wardend {}", env!("CARGO_PKG_VERSION"));
}
