//! Test support shipped with the library so that integration tests, benches and the load tests can
//! share it: deliberately broken variants of the reference server (one fault per variant), used to
//! prove that every conformance check can fail. Not part of the user-facing contract.
