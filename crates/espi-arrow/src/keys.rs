//! Interned keys: the hrefs that name usage points, meter readings and
//! reading types, each stored once.

use std::sync::OnceLock;

use hashbrown::HashTable;

use crate::segmented::Segmented;
use crate::state_memory::StateAlloc;

/// Key text, whole keys appended (so every key's place is at character
/// boundaries), in a block of [`StateAlloc`].
type Chunk = allocator_api2::vec::Vec<u8, StateAlloc>;

/// Strings stored once each in a few large buffers and named by a dense
/// `u32` id.
///
/// A Bulk feed names hundreds of thousands of meter readings by hrefs of
/// about a hundred bytes; kept here they cost their bytes plus about twenty,
/// with no allocation of their own. The text lives in chunks that are never
/// reallocated: a full chunk is kept and a new one started, so growing never
/// copies the text nor holds it twice; a key that extends the key added
/// just before it (a MeterReading's href after its UsagePoint's) adds only
/// the rest of its text; the places of the keys grow a segment at a time
/// ([`Segmented`]) for the same reason. Each key keeps its hash, and every
/// `Keys` of the process hashes alike (random keys drawn once), so a key
/// moves from one to another without being hashed again (parts of an input
/// read in parallel merge their keys) and growing never hashes the text.
/// Text, places and index are conversion state: past the state memory
/// budget they live in the mapped file ([`crate::state_memory`]).
#[derive(Debug, Clone)]
pub(crate) struct Keys {
    chunks: Vec<Chunk>,
    /// Where key `id` is: its chunk, and its start and end in the chunk.
    places: Segmented<Place>,
    index: HashTable<u32, StateAlloc>,
    hasher: ahash::RandomState,
}

/// 16 bytes a key: its chunk, its start and end in the chunk, its hash
/// folded to 32 bits (see [`table_hash`]).
#[derive(Debug, Clone, Copy)]
struct Place {
    chunk: u32,
    start: u32,
    end: u32,
    hash: u32,
}

/// A key's hash as kept: 64 bits folded to 32.
fn fold(hash: u64) -> u32 {
    (hash ^ (hash >> 32)) as u32
}

/// The hash the index is built on, from a kept 32-bit hash: its bits twice,
/// so that the table's bucket (low bits) and tag (high bits) both come
/// from well-mixed bits. Ids are 32-bit, so there are never more buckets
/// than 32 bits address.
fn table_hash(hash: u32) -> u64 {
    (u64::from(hash) << 32) | u64::from(hash)
}

impl Default for Keys {
    fn default() -> Self {
        static HASHER: OnceLock<ahash::RandomState> = OnceLock::new();
        Keys {
            chunks: Vec::new(),
            places: Segmented::default(),
            index: HashTable::new_in(StateAlloc),
            hasher: HASHER.get_or_init(ahash::RandomState::new).clone(),
        }
    }
}

/// The first chunk's capacity; each new chunk doubles it, up to
/// [`LARGEST_CHUNK`] (a longer key gets a chunk of its own size).
const FIRST_CHUNK: usize = 4 << 10;
const LARGEST_CHUNK: usize = 1 << 20;

impl Keys {
    /// The key with id `id`.
    pub(crate) fn str(&self, id: u32) -> &str {
        key_of(&self.chunks, &self.places, id)
    }

    /// Bytes of memory the keys hold: their text, places and index.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.chunks.iter().map(Chunk::capacity).sum::<usize>()
            + self.places.len() * std::mem::size_of::<Place>()
            + table_bytes::<u32>(self.index.capacity())
    }

    /// The id of `s`, if interned.
    pub(crate) fn get(&self, s: &str) -> Option<u32> {
        let hash = fold(self.hasher.hash_one(s));
        self.index
            .find(table_hash(hash), |&id| {
                key_bytes(&self.chunks, &self.places, id) == s.as_bytes()
            })
            .copied()
    }

    /// The id of `s`, interning it when new.
    pub(crate) fn id(&mut self, s: &str) -> u32 {
        let hash = fold(self.hasher.hash_one(s));
        self.id_hashed(s, hash)
    }

    /// The id here of key `id` of `other`, interning it when new.
    pub(crate) fn import(&mut self, other: &Keys, id: u32) -> u32 {
        let place = other.places[id as usize];
        self.id_hashed(key_of(&other.chunks, &other.places, id), place.hash)
    }

    fn id_hashed(&mut self, s: &str, hash: u32) -> u32 {
        let Keys {
            chunks,
            places,
            index,
            hasher: _,
        } = self;
        if let Some(&id) = index.find(table_hash(hash), |&id| {
            key_bytes(chunks, places, id) == s.as_bytes()
        }) {
            return id;
        }
        let id = u32::try_from(places.len()).expect("fewer than 2^32 keys");
        let start = match extended_key_start(chunks, places, s) {
            Some(start) => {
                let chunk = chunks.last_mut().expect("the last key's chunk");
                let shared = chunk.len() - start;
                chunk.extend_from_slice(&s.as_bytes()[shared..]);
                start
            }
            None => {
                let has_room = chunks
                    .last()
                    .is_some_and(|c| c.capacity() - c.len() >= s.len());
                if !has_room {
                    let next = chunks
                        .last()
                        .map_or(FIRST_CHUNK, |c| (c.capacity() * 2).min(LARGEST_CHUNK));
                    chunks.push(Chunk::with_capacity_in(next.max(s.len()), StateAlloc));
                }
                let chunk = chunks.last_mut().expect("a chunk with room");
                let start = chunk.len();
                chunk.extend_from_slice(s.as_bytes());
                start
            }
        };
        places.push(Place {
            chunk: (chunks.len() - 1) as u32,
            start: start as u32,
            end: (start + s.len()) as u32,
            hash,
        });
        index.insert_unique(table_hash(hash), id, |&i| {
            table_hash(places[i as usize].hash)
        });
        id
    }
}

/// Where the key added last starts in the last chunk, when `s` extends it
/// (a MeterReading's href right after its UsagePoint's), its text ends the
/// chunk and the rest of `s` fits there: `s` then shares its text and adds
/// only the rest.
fn extended_key_start(chunks: &[Chunk], places: &Segmented<Place>, s: &str) -> Option<usize> {
    let last = places.last()?;
    let chunk = chunks.last()?;
    let (start, end) = (last.start as usize, last.end as usize);
    let extends = last.chunk as usize == chunks.len() - 1
        && end == chunk.len()
        && s.len() > end - start
        && s.as_bytes().starts_with(&chunk[start..end])
        && chunk.capacity() - chunk.len() >= s.len() - (end - start);
    extends.then_some(start)
}

/// Bytes of a hash table that holds `capacity` elements of `T`: a control
/// byte besides each, buckets a power of two at most 7/8 full.
pub(crate) fn table_bytes<T>(capacity: usize) -> usize {
    if capacity == 0 {
        return 0;
    }
    (capacity * 8 / 7).next_power_of_two() * (std::mem::size_of::<T>() + 1)
}

fn key_bytes<'a>(chunks: &'a [Chunk], places: &Segmented<Place>, id: u32) -> &'a [u8] {
    let place = places[id as usize];
    &chunks[place.chunk as usize][place.start as usize..place.end as usize]
}

fn key_of<'a>(chunks: &'a [Chunk], places: &Segmented<Place>, id: u32) -> &'a str {
    // Chunks receive only the bytes of whole `&str`s, or the rest of one
    // after the text of the key just before it, which it starts with
    // (`extended_key_start`), so the rest starts at a character boundary:
    // a key's place spans whole strings.
    std::str::from_utf8(key_bytes(chunks, places, id)).expect("a key is a whole string")
}

#[cfg(test)]
mod tests {
    use super::Keys;

    #[test]
    fn a_key_costs_sixteen_bytes_besides_its_text_and_index() {
        assert_eq!(std::mem::size_of::<super::Place>(), 16);
    }

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
        // Past several chunks, with a key longer than the largest chunk.
        let long = "x".repeat(super::LARGEST_CHUNK + 1);
        let mut ids = Vec::new();
        for i in 0..100_000 {
            let text = if i == 50_000 {
                long.clone()
            } else {
                format!("/k/{i}")
            };
            ids.push((keys.id(&text), text));
        }
        assert!(keys.chunks.len() > 3);
        for (id, text) in &ids {
            assert_eq!(keys.str(*id), text);
            assert_eq!(keys.id(text), *id);
        }
        assert_eq!(keys.get("/UsagePoint/1"), Some(a));
        // A key that extends the last one shares its text.
        let mut shared = Keys::default();
        let up = shared.id("/UsagePoint/7");
        let text = shared.chunks.iter().map(|c| c.len()).sum::<usize>();
        let mr = shared.id("/UsagePoint/7/MeterReading/1");
        let added = shared.chunks.iter().map(|c| c.len()).sum::<usize>() - text;
        assert_eq!(added, "/MeterReading/1".len());
        assert_eq!(shared.str(up), "/UsagePoint/7");
        assert_eq!(shared.str(mr), "/UsagePoint/7/MeterReading/1");
        assert_eq!(shared.get("/UsagePoint/7/MeterReading/1"), Some(mr));
        assert_eq!(shared.id("/UsagePoint/7"), up);
        // A key that does not, or one after a key it extends no longer
        // ending the text, is written whole.
        let other = shared.id("/UsagePoint/8");
        let after = shared.id("/UsagePoint/7/MeterReading/1/IntervalBlock");
        assert_eq!(shared.str(other), "/UsagePoint/8");
        assert_eq!(
            shared.str(after),
            "/UsagePoint/7/MeterReading/1/IntervalBlock"
        );
        assert_eq!(shared.str(mr), "/UsagePoint/7/MeterReading/1");
        // Keys moved to another set keep their text and find their twins.
        let mut other = Keys::default();
        let b_there = other.id("/UsagePoint/1/MeterReading/1");
        assert_eq!(other.import(&keys, b), b_there);
        let a_there = other.import(&keys, a);
        assert_eq!(other.str(a_there), "/UsagePoint/1");
        assert_eq!(other.get("/UsagePoint/1"), Some(a_there));
        for (id, text) in ids.iter().take(1000) {
            let there = other.import(&keys, *id);
            assert_eq!(other.str(there), text);
            assert_eq!(other.id(text), there);
        }
    }
}
