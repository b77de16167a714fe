fn main() {
    println!("wardenctl {}", env!("CARGO_PKG_VERSION"));
}
