//! Interned keys: the hrefs that name usage points, meter readings and
//! reading types, each stored once.

use hashbrown::HashTable;

/// Strings stored once each in one buffer and named by a dense `u32` id.
///
/// A Bulk feed names hundreds of thousands of meter readings by hrefs of
/// about a hundred bytes; kept here they cost their bytes plus about a dozen,
/// with no allocation of their own.
#[derive(Debug, Clone, Default)]
pub(crate) struct Keys {
    text: String,
    /// `ends[id]` is where key `id` ends in `text` (it starts where the
    /// previous one ends).
    ends: Vec<usize>,
    index: HashTable<u32>,
    hasher: ahash::RandomState,
}

impl Keys {
    /// The key with id `id`.
    pub(crate) fn str(&self, id: u32) -> &str {
        key_of(&self.text, &self.ends, id)
    }

    /// The id of `s`, if interned.
    pub(crate) fn get(&self, s: &str) -> Option<u32> {
        let hash = self.hasher.hash_one(s);
        self.index
            .find(hash, |&id| key_of(&self.text, &self.ends, id) == s)
            .copied()
    }

    /// The id of `s`, interning it when new.
    pub(crate) fn id(&mut self, s: &str) -> u32 {
        let hash = self.hasher.hash_one(s);
        let Keys {
            text,
            ends,
            index,
            hasher,
        } = self;
        if let Some(&id) = index.find(hash, |&id| key_of(text, ends, id) == s) {
            return id;
        }
        let id = u32::try_from(ends.len()).expect("fewer than 2^32 keys");
        text.push_str(s);
        ends.push(text.len());
        index.insert_unique(hash, id, |&i| hasher.hash_one(key_of(text, ends, i)));
        id
    }
}

fn key_of<'a>(text: &'a str, ends: &[usize], id: u32) -> &'a str {
    let id = id as usize;
    let start = if id == 0 { 0 } else { ends[id - 1] };
    &text[start..ends[id]]
}

#[cfg(test)]
mod tests {
    use super::Keys;

    #[test]
    fn interns_each_string_once() {
        let mut keys = Keys::default();
        let a = keys.id("/UsagePoint/1");
        let b = keys.id("/UsagePoint/1/MeterReading/1");
        assert_eq!(keys.id("/UsagePoint/1"), a);
        assert_ne!(a, b);
        assert_eq!(keys.str(a), "/UsagePoint/1");
        assert_eq!(keys.str(b), "/UsagePoint/1/MeterReading/1");
        assert_eq!(keys.get("/UsagePoint/1/MeterReading/1"), Some(b));
        assert_eq!(keys.get("/UsagePoint/2"), None);
        let empty = keys.id("");
        assert_eq!(keys.str(empty), "");
        for i in 0..10_000 {
            let k = keys.id(&format!("/k/{i}"));
            assert_eq!(keys.str(k), format!("/k/{i}"));
        }
        assert_eq!(keys.get("/UsagePoint/1"), Some(a));
    }
}
