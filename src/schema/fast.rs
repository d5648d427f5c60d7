//! The fast path: a body's verdict straight from its bytes, by rules compiled from the loaded
//! JSON Schemas themselves. No rule is written here by hand: every key, type, enum value,
//! format, bound and requirement comes from the schema files (or the `--spec` document), read
//! when the schemas are loaded; editing a schema changes this path and the full validator alike.
//!
//! From bottom to top:
//! - `verdict`: what the path answers ([`Fast`], and the [`Facts`] of a valid body that the
//!   load runner reads).
//! - `scalar`: the keywords that judge one value alone (`format`, `pattern`, lengths, bounds)
//!   are judged by `jsonschema` itself, on a scalar borrowed from the body (its `Json` trait).
//! - `program`: the rule table.
//! - `compile`: schema documents → rule table. `$ref`/`allOf` are merged into one rule, a
//!   `oneOf` whose alternatives one property tells apart (`node_type`, `action`, a node's `type`)
//!   becomes a dispatch on that property, and a schema object with a keyword the engine does not
//!   read (`not`, `patternProperties`, ...) is handed whole to `jsonschema`, on a DOM of that value
//!   alone. A component the engine cannot compile at all (dynamic references, another draft) has
//!   no fast path ([`Rules::why_not`]): the full validator judges its bodies.
//! - `pass`: the engine, one borrowing serde pass over the bytes.
//! - `rules`: [`Rules`], the compiled set.
//! - `memo`: [`Memo`], the pass with a memory of valid bodies (a body equal to one seen before
//!   outside its free strings is decided by comparing bytes and checking those strings).
//!
//! The verdicts are `jsonschema`'s (the `schema_fast`, `schema_proptest` and `schema_mutations`
//! tests compare them on every fixture, every mutation and generated bodies, and
//! `schema_sources` on edited schema sets). [`Fast::Undecided`] is returned when the pass cannot
//! be sure without the DOM: a syntax error (the caller must say "not JSON") or a property given
//! twice (the DOM keeps the last one).

mod compile;
mod memo;
mod pass;
mod program;
mod rules;
mod scalar;
mod verdict;

pub use memo::Memo;
pub use rules::Rules;
pub use verdict::{ErrorFacts, Facts, Fast};
