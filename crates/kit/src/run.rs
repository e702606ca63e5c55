//! The `main` wrapper: start the async runtime, run a command, and turn the outcome into an exit code,
//! where a closed stdout (the reader went away: `EPIPE`) ends the program quietly with the status a shell
//! reports for a process killed by SIGPIPE.

use std::future::Future;
use std::process::ExitCode;

/// Exit status when the reader closed stdout: what a shell reports for a process killed by SIGPIPE
/// (128 + 13), so a pipeline sees that the output was cut short.
pub const EXIT_OUTPUT_CLOSED: u8 = 141;

/// The async runtime could not be started.
#[derive(Debug, thiserror::Error)]
#[error("cannot start the async runtime: {0}")]
pub struct RuntimeError(#[source] pub std::io::Error);

/// How the runtime is built and left.
#[derive(Debug, Clone, Copy, Default)]
pub struct RuntimeOptions {
    /// Worker threads (`None`: one per core).
    pub worker_threads: Option<usize>,
    /// Leave without waiting for blocking tasks (a stdin read that may never return).
    pub detach_on_exit: bool,
}

/// Runs `fut` to completion on a new multi-threaded runtime.
pub fn block_on<F: Future>(options: RuntimeOptions, fut: F) -> Result<F::Output, RuntimeError> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = options.worker_threads {
        builder.worker_threads(n);
    }
    let rt = builder.enable_all().build().map_err(RuntimeError)?;
    let out = rt.block_on(fut);
    if options.detach_on_exit {
        rt.shutdown_background();
    }
    Ok(out)
}

/// Errors that may mean "stdout was closed by the reader".
pub trait OutputClosed {
    fn is_output_closed(&self) -> bool;
}

/// True when an I/O error, or any error in a chain, is a broken pipe.
pub fn is_broken_pipe(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if err
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
        {
            return true;
        }
        cur = err.source();
    }
    false
}

/// The exit code of a command's result: success, [`EXIT_OUTPUT_CLOSED`] for a closed stdout (nothing is
/// reported: nobody is reading), else whatever `report` prints and returns for the error.
pub fn exit_code<E: OutputClosed>(
    result: Result<(), E>,
    report: impl FnOnce(E) -> ExitCode,
) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.is_output_closed() => ExitCode::from(EXIT_OUTPUT_CLOSED),
        Err(e) => report(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct E(bool);
    impl OutputClosed for E {
        fn is_output_closed(&self) -> bool {
            self.0
        }
    }

    #[test]
    fn closed_output_is_141_and_not_reported() {
        let code = exit_code(Err(E(true)), |_| unreachable!("not reported"));
        assert_eq!(code, ExitCode::from(EXIT_OUTPUT_CLOSED));
        assert_eq!(
            exit_code(Ok::<(), E>(()), |_| ExitCode::FAILURE),
            ExitCode::SUCCESS
        );
        assert_eq!(
            exit_code(Err(E(false)), |_| ExitCode::from(3)),
            ExitCode::from(3)
        );
    }

    #[test]
    fn broken_pipes_are_found_in_chains() {
        #[derive(Debug, thiserror::Error)]
        #[error("write failed")]
        struct Wrap(#[source] std::io::Error);
        let pipe = Wrap(std::io::Error::new(
            std::io::ErrorKind::BrokenPipe,
            "closed",
        ));
        assert!(is_broken_pipe(&pipe));
        let other = Wrap(std::io::Error::other("disk full"));
        assert!(!is_broken_pipe(&other));
    }

    #[test]
    fn runs_on_a_runtime() {
        let opts = RuntimeOptions {
            worker_threads: Some(1),
            detach_on_exit: true,
        };
        assert_eq!(block_on(opts, async { 7 }).unwrap(), 7);
    }
}
