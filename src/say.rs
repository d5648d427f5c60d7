//! [`say!`](crate::say!): the crate's one way to write a line to stderr.
//!
//! A leaf of its own (not in `lib.rs`) so that the modules that print a note do not import the
//! crate root, which declares them; it uses only the leaf [`crate::secret`].

/// `eprintln!` that never panics: a closed stderr (`2>&1 | head`, a CI runner that went away)
/// must not turn a finished run, or a running server, into a crash (exit 101). The line goes
/// through [`crate::secret::redact_userinfo`] first: an error that quotes a URL (reqwest's do)
/// never shows the password in it.
#[macro_export]
#[doc(hidden)]
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let line = $crate::secret::redact_userinfo(&format!($($arg)*));
        let _ = writeln!(std::io::stderr(), "{line}");
    }};
}
