//! The one way blocking work (SQLite, Argon2) leaves the async workers.

/// Runs `f` on tokio's blocking pool and returns its value. A panic in `f`
/// is raised again in the calling task, so it surfaces where the work was
/// asked for (the server turns it into an `INTERNAL` reply) rather than
/// being lost with the pool thread.
pub async fn run<T, F>(f: F) -> T
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    match tokio::task::spawn_blocking(f).await {
        Ok(value) => value,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        // Only a runtime that is shutting down cancels blocking tasks, and
        // then nobody is left to read the answer.
        Err(e) => panic!("blocking task cancelled: {e}"),
    }
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn returns_value() {
        assert_eq!(super::run(|| 41 + 1).await, 42);
    }

    #[tokio::test]
    async fn panics_are_raised_in_the_caller() {
        let task = tokio::spawn(super::run(|| -> u8 { panic!("boom") }));
        let err = task.await.unwrap_err();
        assert!(err.is_panic());
    }
}
