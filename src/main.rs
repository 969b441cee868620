fn main() -> std::process::ExitCode {
    sessiondrill::cli::main()
}
