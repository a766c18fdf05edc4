//! A map from key ids to values, kept for every meter reading of an input.

use hashbrown::HashTable;

use crate::segmented::Segmented;
use crate::state_memory::StateAlloc;

/// A map from `u32` ids (of [`Keys`](crate::keys::Keys)) to values, the
/// values stored one after another in the order they were first inserted
/// and found through a table of 4-byte positions.
///
/// A daily Bulk feed has hundreds of thousands of meter readings, and
/// several maps hold something for each. In a hash map every bucket holds
/// a key and a value, and between resizes a quarter to a half of the
/// buckets are empty; here only the 4-byte positions have empty buckets,
/// which takes about half the memory of a map of 40-byte values. The values
/// grow a segment at a time ([`Segmented`]), never copied. Iteration is in
/// insertion order.
#[derive(Clone)]
pub(crate) struct DenseMap<V> {
    entries: Segmented<(u32, V)>,
    positions: HashTable<u32, StateAlloc>,
}

impl<V> Default for DenseMap<V> {
    fn default() -> Self {
        DenseMap {
            entries: Segmented::default(),
            positions: HashTable::new_in(StateAlloc),
        }
    }
}

impl<V: std::fmt::Debug> std::fmt::Debug for DenseMap<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// The hash of an id: ids are small and dense, so a multiplication by an
/// odd constant spreads them over the high bits (the table's tags) and
/// keeps the low bits (its buckets) distinct.
fn hash(id: u32) -> u64 {
    u64::from(id).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

impl<V> DenseMap<V> {
    fn position(&self, id: u32) -> Option<usize> {
        let entries = &self.entries;
        self.positions
            .find(hash(id), |&at| entries[at as usize].0 == id)
            .map(|&at| at as usize)
    }

    /// The value of `id`.
    pub(crate) fn get(&self, id: &u32) -> Option<&V> {
        self.position(*id).map(|at| &self.entries[at].1)
    }

    /// The value of `id`, to change.
    pub(crate) fn get_mut(&mut self, id: &u32) -> Option<&mut V> {
        self.position(*id).map(|at| &mut self.entries[at].1)
    }

    /// Whether `id` has a value.
    pub(crate) fn contains_key(&self, id: &u32) -> bool {
        self.position(*id).is_some()
    }

    /// Set the value of `id`, returning the one it replaces.
    pub(crate) fn insert(&mut self, id: u32, value: V) -> Option<V> {
        if let Some(at) = self.position(id) {
            return Some(std::mem::replace(&mut self.entries[at].1, value));
        }
        let at = u32::try_from(self.entries.len()).expect("fewer than 2^32 entries");
        let entries = &self.entries;
        self.positions
            .insert_unique(hash(id), at, |&other| hash(entries[other as usize].0));
        self.entries.push((id, value));
        None
    }

    /// Entries in insertion order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&u32, &V)> + '_ {
        self.entries.iter().map(|(id, value)| (id, value))
    }

    /// Ids in insertion order.
    pub(crate) fn keys(&self) -> impl Iterator<Item = &u32> + '_ {
        self.entries.iter().map(|(id, _)| id)
    }

    /// Values in insertion order.
    pub(crate) fn values(&self) -> impl Iterator<Item = &V> + '_ {
        self.entries.iter().map(|(_, value)| value)
    }

    /// Values in insertion order, to change.
    pub(crate) fn values_mut(&mut self) -> impl Iterator<Item = &mut V> + '_ {
        self.entries.iter_mut().map(|(_, value)| value)
    }
}

impl<V> IntoIterator for DenseMap<V> {
    type Item = (u32, V);
    type IntoIter = <Segmented<(u32, V)> as IntoIterator>::IntoIter;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

impl<V> FromIterator<(u32, V)> for DenseMap<V> {
    fn from_iter<I: IntoIterator<Item = (u32, V)>>(items: I) -> Self {
        let mut map = DenseMap::default();
        for (id, value) in items {
            map.insert(id, value);
        }
        map
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dense_map_acts_as_a_map_in_insertion_order() {
        let mut map = DenseMap::default();
        assert_eq!(map.insert(7, "a"), None);
        assert_eq!(map.insert(3, "b"), None);
        assert_eq!(map.insert(7, "c"), Some("a"));
        assert_eq!(map.get(&7), Some(&"c"));
        assert_eq!(map.get(&4), None);
        assert!(map.contains_key(&3) && !map.contains_key(&0));
        *map.get_mut(&3).unwrap() = "d";
        assert_eq!(map.iter().collect::<Vec<_>>(), [(&7, &"c"), (&3, &"d")]);
        assert_eq!(map.into_iter().collect::<Vec<_>>(), [(7, "c"), (3, "d")]);
    }

    #[test]
    fn many_ids_are_found_after_the_table_grows() {
        let ids: Vec<u32> = (0..100_000u32)
            .map(|i| i.wrapping_mul(2_654_435_761))
            .collect();
        let map: DenseMap<u32> = ids.iter().map(|&id| (id, id ^ 1)).collect();
        assert_eq!(map.values().count(), ids.len());
        for &id in &ids {
            assert_eq!(map.get(&id), Some(&(id ^ 1)));
        }
        assert!(map.keys().copied().eq(ids.iter().copied()));
    }
}
