use std::process::ExitCode;

fn main() -> ExitCode {
    translog::cli::run()
}
