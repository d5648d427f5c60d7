//! The flow store: compact typed flows in a sharded store, each shard an insertion-ordered ring
//! of flows with a small index from id to position, so that eviction (oldest first) and purging
//! of long-expired flows are O(1) per insert.
//!
//! Memory: a [`Flow`] is 32 bytes (everything that only some flows need sits behind one
//! `Option<Box<Extra>>`); a slot of the ring is the flow with its 16-byte id, 48 bytes, and the
//! index holds a 4-byte sequence number and hashbrown's 1-byte tag per flow. About 61 MiB for a
//! million flows, against 120 MiB for the `HashMap<u128, Flow>` plus a queue of ids that this
//! replaced; and only the index is touched at random: the ring is written and evicted in order.
//! Ids are random UUIDs, so folding the two halves is hash enough.
//!
//! Eviction is oldest-first per shard. With more than one shard (large `max_flows`), shards hold
//! equal slices of the bound, and since ids are uniformly random the evicted flow is among the
//! globally oldest; with a small bound there is one shard and eviction is exactly oldest-first.

use hashbrown::HashTable;
use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};

/// `api` or `browser`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FlowType {
    Api,
    Browser,
}

/// The strategy whose nodes the flow shows (`active`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    Code,
    Link,
}

impl Method {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Method::Code => "code",
            Method::Link => "link",
        }
    }
}

/// The flow's `active`. Kratos's code strategy takes a submit only while `active` is `code`;
/// once a submit was not its own, `active` names the strategy that answered last and stays so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Active {
    /// The flow's [`Method`].
    Method,
    /// No strategy took the last submit (4010005).
    Default,
    /// The link strategy answered (disabled, or the body did not decode).
    Link,
}

/// The recovery states: v1 (`choose_method`, `sent_email`) and v2 (`recovery_*`), and
/// `passed_challenge`, which both share (`selfservice/flow/state.go`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    ChooseMethod,
    SentEmail,
    PassedChallenge,
    RecoveryAwaitingAddress,
    RecoveryAwaitingAddressChoice,
    RecoveryConfirmingAddress,
    RecoveryAwaitingCode,
}

impl State {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            State::ChooseMethod => "choose_method",
            State::SentEmail => "sent_email",
            State::PassedChallenge => "passed_challenge",
            State::RecoveryAwaitingAddress => "recovery_awaiting_address",
            State::RecoveryAwaitingAddressChoice => "recovery_awaiting_address_choice",
            State::RecoveryConfirmingAddress => "recovery_confirming_address",
            State::RecoveryAwaitingCode => "recovery_awaiting_code",
        }
    }
}

/// The global `ui.messages` entry a flow carries (at most one in the v1 machine).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Msg {
    None,
    /// 1060003
    CodeSent,
    /// 1060002
    LinkSent,
    /// 4060006
    InvalidCode,
    /// 4010005
    NoStrategy,
    /// 4000001 "submitted too often"
    TooOften,
    /// 4000001 API flow submitted with a Cookie header
    CookieBlocked,
    /// 4000001 API flow submitted with an Origin header
    OriginBlocked,
    /// 4000001 with the text in [`Extra::msg_text`] (a body Kratos could not decode)
    Generic,
    /// 4000001 "The code was already used."
    UsedCode,
    /// 1060004 v2: a code was sent to the masked address in [`Extra::email`]
    AddressSent,
    /// 1060006 v2: "How do you want to recover your account?"
    ChooseAddress,
    /// 1060005 v2: "Recover access to your account by providing your recovery address in full."
    ConfirmAddress,
    /// 4060001
    AlreadyCompleted,
    /// 4060004
    InvalidToken,
    /// 4060005 (context in [`Extra::expired`])
    Expired,
}

/// A message on the `email` node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NodeMsg {
    None,
    /// 4000002 "Property email is missing."
    EmailMissing,
    /// 4000040 "Enter a valid email address" (context: the input, kept in [`Extra::email`]).
    EmailInvalid,
    /// 4000040 and 4000017 "length must be <= 320" (an address over 320 characters).
    EmailTooLong,
    /// v2: 4000002 "Property recovery_address is missing." on the `recovery_address` node.
    AddressMissing,
    /// v2: 4000002 on the `recovery_select_address` button of the choice screen.
    ChoiceMissing,
    /// v2: 4000002 on the `recovery_confirm_address` input of the confirmation screen.
    ConfirmMissing,
}

/// What a completed recovery produced (for `continue_with`).
#[derive(Debug, Clone)]
pub(crate) struct Completion {
    pub(crate) settings_flow: u128,
    pub(crate) session_token: Box<str>,
}

/// The parts only some flows need.
#[derive(Debug, Clone, Default)]
pub(crate) struct Extra {
    /// The query string of the creating request (without `?`), for `request_url` and `return_to`.
    pub(crate) query: Option<Box<str>>,
    /// The submitted email (node value, resend button, 4000040 context).
    pub(crate) email: Option<Box<str>>,
    /// Browser flows: the masked anti-CSRF token the flow is bound to (its `csrf_token` node).
    pub(crate) csrf: Option<Box<str>>,
    /// `request_url` when it is not the server's own `<base_url><route>[?query]`: a request
    /// through a proxy (`X-Forwarded-*`, another `Host`), or a flow that replaced another.
    pub(crate) request_url: Option<Box<str>>,
    /// v2: the value of the hidden `recovery_address` node (what the last submit carried).
    pub(crate) v2_field: Option<Box<str>>,
    /// The text of a [`Msg::Generic`] message.
    pub(crate) msg_text: Option<Box<str>>,
    /// Set after a correct code.
    pub(crate) completion: Option<Completion>,
    /// For [`Msg::Expired`]: (expired_at of the old flow in ns, minutes ago ×100).
    pub(crate) expired: Option<(i64, i64)>,
    /// Link method: the token of the sent link.
    pub(crate) link_token: Option<u128>,
}

/// Sentinel for "no code was sent" (unknown address, or nothing submitted yet).
pub(crate) const NO_CODE: u32 = u32::MAX;

/// A recovery flow, as stored.
#[derive(Debug, Clone)]
pub(crate) struct Flow {
    /// Creation time, ns since the Unix epoch (UTC); `expires_at` = this + lifespan.
    pub(crate) issued_ns: i64,
    pub(crate) extra: Option<Box<Extra>>,
    /// The valid 6-digit code, or [`NO_CODE`].
    pub(crate) code: u32,
    pub(crate) flow_type: FlowType,
    pub(crate) method: Method,
    pub(crate) state: State,
    /// Code submissions so far (attempt limit).
    pub(crate) submissions: u8,
    pub(crate) msg: Msg,
    pub(crate) node_msg: NodeMsg,
    /// What `active` shows: the flow's method until a submit moved it (§5.3).
    pub(crate) active: Active,
}

impl Flow {
    /// A new flow; `v2` starts it in `recovery_awaiting_address` (`choose_recovery_address`).
    pub(crate) fn new(flow_type: FlowType, method: Method, v2: bool, issued_ns: i64) -> Flow {
        Flow {
            issued_ns,
            extra: None,
            code: NO_CODE,
            flow_type,
            method,
            state: if v2 && method == Method::Code {
                State::RecoveryAwaitingAddress
            } else {
                State::ChooseMethod
            },
            submissions: 0,
            msg: Msg::None,
            node_msg: NodeMsg::None,
            active: Active::Method,
        }
    }

    pub(crate) fn extra(&self) -> Option<&Extra> {
        self.extra.as_deref()
    }

    pub(crate) fn extra_mut(&mut self) -> &mut Extra {
        self.extra.get_or_insert_with(Default::default)
    }

    pub(crate) fn query(&self) -> Option<&str> {
        self.extra().and_then(|e| e.query.as_deref())
    }

    pub(crate) fn email(&self) -> Option<&str> {
        self.extra().and_then(|e| e.email.as_deref())
    }

    pub(crate) fn csrf(&self) -> Option<&str> {
        self.extra().and_then(|e| e.csrf.as_deref())
    }
}

/// Folds a random 128-bit id into the 64-bit hash of the index.
fn hash(id: u128) -> u64 {
    ((id >> 64) as u64) ^ (id as u64)
}

/// One shard: its flows in insertion order, and where each id sits.
///
/// Evicting the oldest flow does not touch the index: its entry goes stale (its sequence number
/// falls behind the ring's front) and is swept out, with every other stale entry, when the index
/// is full, by rebuilding the index from the ring. An eviction is then a step along the ring, not
/// a random access into the index; the rebuild reads the ring in order, at most once per
/// `cap / 2` evictions.
struct Shard {
    /// Oldest first; the flow with sequence number `s` is at `s - front_seq` (wrapping).
    ring: VecDeque<(u128, Flow)>,
    /// Sequence number of `ring[0]`.
    front_seq: u32,
    /// The sequence number of every flow in `ring`, found by its id's [`hash`], and of evicted
    /// flows until the next sweep.
    index: HashTable<u32>,
    cap: usize,
}

impl Shard {
    fn new(cap: usize) -> Shard {
        Shard {
            ring: VecDeque::new(),
            front_seq: 0,
            index: HashTable::new(),
            cap,
        }
    }

    /// Where in `ring` the flow with sequence number `seq` is, if it is still there. The ring
    /// holds fewer than 2^31 flows and stale entries are swept out long before the sequence
    /// numbers come round again (whenever the index is full), so wrapping arithmetic is exact.
    fn pos(ring: &VecDeque<(u128, Flow)>, front_seq: u32, seq: u32) -> Option<usize> {
        let pos = seq.wrapping_sub(front_seq) as usize;
        (pos < ring.len()).then_some(pos)
    }

    fn find(&self, id: u128) -> Option<usize> {
        let (ring, front) = (&self.ring, self.front_seq);
        let at = |seq: u32| Self::pos(ring, front, seq);
        self.index
            .find(hash(id), |&seq| at(seq).is_some_and(|p| ring[p].0 == id))
            .and_then(|&seq| at(seq))
    }

    /// Forgets the oldest flow (its index entry goes stale).
    fn pop_front(&mut self) {
        if self.ring.pop_front().is_some() {
            self.front_seq = self.front_seq.wrapping_add(1);
        }
    }

    /// Appends a flow whose id is not stored yet.
    fn push(&mut self, id: u128, flow: Flow) {
        let Shard {
            ring,
            front_seq,
            index,
            cap,
        } = self;
        let (front, cap) = (*front_seq, *cap);
        if ring.len() == ring.capacity() {
            // Grow by doubling, but to exactly `cap` at the end: a full ring then writes each
            // new flow into the slot its oldest flow just left, a line the eviction has just
            // read, rather than into a second line far from it.
            let want = (ring.capacity() * 2).max(16).min(cap.max(1));
            ring.reserve_exact(want.saturating_sub(ring.len()));
        }
        let rehash = |&seq: &u32| Self::pos(ring, front, seq).map_or(0, |p| hash(ring[p].0));
        if index.len() == index.capacity() && index.len() > ring.len() {
            // Full, partly of evicted flows' entries: rebuild it from the ring, at the same size
            // or with room for half as many again, so that the next rebuild is at least
            // `ring.len() / 2` inserts away. (Sweeping in place would leave hashbrown's
            // tombstones, which only a table twice the size rehashes away.) Every flow in the
            // ring is live, so `rehash` never sees a stale entry, and the new table has room
            // for all of them: it does not grow.
            let room = index.capacity().max(ring.len() + ring.len() / 2);
            let mut fresh = HashTable::with_capacity(room);
            for (i, (id, _)) in ring.iter().enumerate() {
                fresh.insert_unique(hash(*id), front.wrapping_add(i as u32), rehash);
            }
            *index = fresh;
        }
        // The ring holds at most `cap` < 2^31 flows (see `Store::new`).
        let seq = front.wrapping_add(ring.len() as u32);
        // The index grows here only when it is full of live entries (one with stale entries was
        // rebuilt above): `rehash` reads their slots; the new flow's comes after, so its hash
        // is the one given here.
        let new_hash = hash(id);
        index.insert_unique(
            new_hash,
            seq,
            |&s| {
                if s == seq {
                    new_hash
                } else {
                    rehash(&s)
                }
            },
        );
        ring.push_back((id, flow));
    }
}

/// The sharded store.
pub(crate) struct Store {
    shards: Box<[Mutex<Shard>]>,
    mask: usize,
    /// Flows older than this (ns) are purged: lifespan plus a grace period in which an expired
    /// flow still answers 410 rather than 404.
    retain_ns: i64,
}

/// A locked shard with the flow asked for.
pub(crate) struct FlowGuard<'a> {
    guard: MutexGuard<'a, Shard>,
    id: u128,
}

impl FlowGuard<'_> {
    pub(crate) fn flow(&mut self) -> Option<&mut Flow> {
        let pos = self.guard.find(self.id)?;
        Some(&mut self.guard.ring[pos].1)
    }
}

impl Store {
    /// A store for at most `max_flows` flows that purges flows older than `retain`.
    pub(crate) fn new(max_flows: usize, retain: std::time::Duration) -> Store {
        let max_flows = max_flows.max(1);
        // One shard per ~16k flows, at most 64: small bounds stay exactly oldest-first.
        let wanted = (max_flows / 16_384).clamp(1, 64);
        let count = wanted.next_power_of_two().min(64);
        let count = if count > wanted { count / 2 } else { count }.max(1);
        let base = max_flows / count;
        let rem = max_flows % count;
        let shards = (0..count)
            .map(|i| {
                // A shard's sequence numbers are u32: keep it well below 2^32 flows.
                let cap = (base + usize::from(i < rem)).clamp(1, 1 << 31);
                Mutex::new(Shard::new(cap))
            })
            .collect();
        Store {
            shards,
            mask: count - 1,
            retain_ns: i64::try_from(retain.as_nanos()).unwrap_or(i64::MAX),
        }
    }

    fn shard(&self, id: u128) -> MutexGuard<'_, Shard> {
        let idx = (id as usize) & self.mask;
        // A poisoned shard only means a panic happened while it was held; the data is still a
        // valid map (no invariant spans an unwind), so keep serving.
        match self.shards[idx].lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// Stores a new flow, evicting the oldest of its shard when full.
    pub(crate) fn insert(&self, id: u128, flow: Flow, now_ns: i64) {
        let retain = self.retain_ns;
        let mut shard = self.shard(id);
        if let Some(pos) = shard.find(id) {
            // Ids are random: never in practice, but a stored id keeps its place.
            shard.ring[pos].1 = flow;
            return;
        }
        // Purge a few long-expired flows from the front: amortised O(1), keeps RSS flat.
        for _ in 0..4 {
            match shard.ring.front() {
                Some((_, f)) if now_ns.saturating_sub(f.issued_ns) > retain => shard.pop_front(),
                _ => break,
            }
        }
        while shard.ring.len() >= shard.cap {
            shard.pop_front();
        }
        shard.push(id, flow);
    }

    /// Locks the shard of `id` for reading or updating that flow.
    pub(crate) fn get(&self, id: u128) -> FlowGuard<'_> {
        FlowGuard {
            guard: self.shard(id),
            id,
        }
    }

    /// Number of stored flows (sums the shards; for tests).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        (0..self.shards.len())
            .map(|i| match self.shards[i].lock() {
                Ok(g) => g.ring.len(),
                Err(p) => p.into_inner().ring.len(),
            })
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn flow_is_compact() {
        // With the 16-byte-aligned u128 id, a slot of the ring is 48 bytes.
        assert!(
            std::mem::size_of::<Flow>() <= 32,
            "{}",
            std::mem::size_of::<Flow>()
        );
        assert!(std::mem::size_of::<(u128, Flow)>() <= 48);
    }

    #[test]
    fn evicts_oldest_first_when_full() {
        let store = Store::new(3, Duration::from_secs(3600));
        for id in 1..=5u128 {
            store.insert(id, Flow::new(FlowType::Api, Method::Code, false, 0), 0);
        }
        assert_eq!(store.len(), 3);
        assert!(store.get(1).flow().is_none());
        assert!(store.get(2).flow().is_none());
        for id in 3..=5 {
            assert!(store.get(id).flow().is_some(), "flow {id} kept");
        }
    }

    #[test]
    fn finds_each_flow_by_id_as_the_ring_turns() {
        let store = Store::new(100, Duration::from_secs(3600));
        // Start the sequence numbers just below their wrap.
        store.shards[0].lock().expect("shard").front_seq = u32::MAX - 50;
        for id in 1..=1000u128 {
            store.insert(
                id,
                Flow::new(FlowType::Api, Method::Code, false, id as i64),
                0,
            );
        }
        assert_eq!(store.len(), 100);
        {
            // Evicted flows' entries are swept out: the index stays a small multiple of the bound.
            let shard = store.shards[0].lock().expect("shard");
            // The ring is exactly the bound: a new flow takes the slot the oldest left.
            assert_eq!(shard.ring.capacity(), 100);
            assert!(shard.index.capacity() <= 224, "{}", shard.index.capacity());
            assert!(shard.index.len() >= 100);
        }
        for id in 1..=900u128 {
            assert!(store.get(id).flow().is_none(), "flow {id} evicted");
        }
        for id in 901..=1000u128 {
            let mut guard = store.get(id);
            let flow = guard.flow().expect("kept");
            assert_eq!(flow.issued_ns, id as i64, "flow {id} is its own");
        }
        // Storing an id again replaces its flow where it stands.
        store.insert(950, Flow::new(FlowType::Browser, Method::Code, false, 7), 0);
        assert_eq!(store.len(), 100);
        assert_eq!(
            store.get(950).flow().map(|f| f.flow_type),
            Some(FlowType::Browser)
        );
        store.insert(1001, Flow::new(FlowType::Api, Method::Code, false, 1001), 0);
        assert!(store.get(901).flow().is_none(), "the oldest goes first");
        assert!(store.get(950).flow().is_some());
    }

    #[test]
    fn purges_long_expired_flows() {
        let store = Store::new(100, Duration::from_nanos(10));
        store.insert(1, Flow::new(FlowType::Api, Method::Code, false, 0), 0);
        store.insert(2, Flow::new(FlowType::Api, Method::Code, false, 100), 100);
        assert!(store.get(1).flow().is_none());
        assert!(store.get(2).flow().is_some());
    }

    #[test]
    fn large_bounds_shard_and_sum_to_the_bound() {
        let store = Store::new(1_000_000, Duration::from_secs(1));
        assert!(store.shards.len() > 1 && store.shards.len().is_power_of_two());
        let total: usize = store
            .shards
            .iter()
            .map(|s| s.lock().map(|g| g.cap).unwrap_or(0))
            .sum();
        assert_eq!(total, 1_000_000);
    }
}
