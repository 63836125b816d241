use std::process::ExitCode;

#[derive(clap::Args)]
pub struct TargetsArgs {}

#[derive(clap::Args)]
pub struct VerifyArgs {}

pub fn run_targets(_args: TargetsArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not implemented yet")
}

pub fn run_verify(_args: VerifyArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not implemented yet")
}
