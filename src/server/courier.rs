//! The courier: the messages the server "sends", kept in a bounded ring buffer and listed the
//! way Kratos's admin API lists them (`GET /admin/courier/messages`, schema `message`), so that a
//! test or load scenario can read the recovery code and complete a whole recovery.
//!
//! Also the session registry: the configured tokens plus a bounded set of tokens issued by
//! completed recoveries.

use super::json;
use std::collections::{HashSet, VecDeque};
use std::sync::Mutex;

/// One sent message.
#[derive(Debug, Clone)]
pub(crate) struct Message {
    pub(crate) id: u128,
    pub(crate) recipient: Box<str>,
    pub(crate) subject: Box<str>,
    pub(crate) body: Box<str>,
    pub(crate) template_type: &'static str,
    pub(crate) created_ns: i64,
}

/// The bounded outbox (newest at the back).
pub(crate) struct Courier {
    cap: usize,
    messages: Mutex<VecDeque<Message>>,
}

/// `status` filter values Kratos accepts (`courierMessageStatus`).
pub(crate) const STATUSES: [&str; 4] = ["queued", "sent", "processing", "abandoned"];

impl Courier {
    pub(crate) fn new(cap: usize) -> Courier {
        Courier {
            cap: cap.max(1),
            messages: Mutex::new(VecDeque::new()),
        }
    }

    pub(crate) fn push(&self, msg: Message) {
        let mut q = match self.messages.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        while q.len() >= self.cap {
            q.pop_front();
        }
        q.push_back(msg);
    }

    /// Renders the listing: newest first, filtered by exact recipient (case-insensitive) and
    /// status, at most `page_size` entries.
    pub(crate) fn render_list(
        &self,
        recipient: Option<&str>,
        status: Option<&str>,
        page_size: usize,
    ) -> String {
        let q = match self.messages.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let mut out = String::with_capacity(256 + 512 * q.len().min(page_size));
        out.push('[');
        let mut n = 0;
        // Every stored message has been "delivered": its status is `sent`.
        let status_ok = status.is_none_or(|s| s == "sent");
        for m in q.iter().rev() {
            if n >= page_size || !status_ok {
                break;
            }
            if recipient.is_some_and(|r| !r.eq_ignore_ascii_case(&m.recipient)) {
                continue;
            }
            if n > 0 {
                out.push(',');
            }
            render_message(&mut out, m);
            n += 1;
        }
        out.push_str("]\n");
        out
    }

    /// One message by id.
    pub(crate) fn render_one(&self, id: u128) -> Option<String> {
        let q = match self.messages.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        q.iter().find(|m| m.id == id).map(|m| {
            let mut out = String::with_capacity(512);
            render_message(&mut out, m);
            out.push('\n');
            out
        })
    }
}

/// Kratos `courier.Message` JSON, in its struct order.
fn render_message(out: &mut String, m: &Message) {
    out.push_str("{\"id\":\"");
    json::push_uuid(out, m.id);
    out.push_str("\",\"status\":\"sent\",\"type\":\"email\",\"recipient\":");
    json::push_str(out, &m.recipient);
    out.push_str(",\"body\":");
    json::push_str(out, &m.body);
    out.push_str(",\"subject\":");
    json::push_str(out, &m.subject);
    out.push_str(",\"template_type\":");
    json::push_str(out, m.template_type);
    out.push_str(",\"channel\":\"email\",\"send_count\":1,\"created_at\":\"");
    json::push_timestamp(out, m.created_ns);
    out.push_str("\",\"updated_at\":\"");
    json::push_timestamp(out, m.created_ns);
    out.push_str("\"}");
}

/// Issued tokens: lookup set and issue order (for the bound).
type Issued = (HashSet<Box<str>>, VecDeque<Box<str>>);

/// Tokens that count as a signed-in session.
pub(crate) struct Sessions {
    fixed: HashSet<String>,
    issued: Mutex<Issued>,
    cap: usize,
}

impl Sessions {
    pub(crate) fn new(fixed: &[String], cap: usize) -> Sessions {
        Sessions {
            fixed: fixed.iter().cloned().collect(),
            issued: Mutex::new((HashSet::new(), VecDeque::new())),
            cap: cap.max(1),
        }
    }

    pub(crate) fn is_valid(&self, token: &str) -> bool {
        if token.is_empty() {
            return false;
        }
        if self.fixed.contains(token) {
            return true;
        }
        match self.issued.lock() {
            Ok(g) => g.0.contains(token),
            Err(p) => p.into_inner().0.contains(token),
        }
    }

    /// Registers a token issued by a completed recovery (oldest forgotten beyond the bound).
    pub(crate) fn issue(&self, token: &str) {
        let mut g = match self.issued.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let (set, order) = &mut *g;
        while order.len() >= self.cap {
            if let Some(old) = order.pop_front() {
                set.remove(&old);
            }
        }
        let token: Box<str> = token.into();
        if set.insert(token.clone()) {
            order.push_back(token);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(id: u128, to: &str) -> Message {
        Message {
            id,
            recipient: to.into(),
            subject: "s".into(),
            body: "b".into(),
            template_type: "recovery_code_valid",
            created_ns: 0,
        }
    }

    #[test]
    fn ring_buffer_is_bounded_and_lists_newest_first() {
        let c = Courier::new(2);
        c.push(msg(1, "a@x"));
        c.push(msg(2, "b@x"));
        c.push(msg(3, "a@x"));
        let all: serde_json::Value =
            serde_json::from_str(&c.render_list(None, None, 10)).expect("json");
        let ids: Vec<_> = all
            .as_array()
            .expect("array")
            .iter()
            .map(|m| m["id"].as_str().unwrap_or_default().to_owned())
            .collect();
        assert_eq!(ids, vec![json::uuid_string(3), json::uuid_string(2)]);
        let a: serde_json::Value =
            serde_json::from_str(&c.render_list(Some("A@X"), None, 10)).expect("json");
        assert_eq!(a.as_array().map(Vec::len), Some(1));
        let none: serde_json::Value =
            serde_json::from_str(&c.render_list(None, Some("queued"), 10)).expect("json");
        assert_eq!(none.as_array().map(Vec::len), Some(0));
    }

    #[test]
    fn issued_sessions_are_bounded() {
        let s = Sessions::new(&["fixed".to_owned()], 1);
        assert!(s.is_valid("fixed"));
        s.issue("one");
        assert!(s.is_valid("one"));
        s.issue("two");
        assert!(!s.is_valid("one"));
        assert!(s.is_valid("two"));
        assert!(!s.is_valid(""));
    }
}
