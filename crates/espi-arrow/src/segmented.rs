//! A vector that grows a segment at a time, for what is kept per meter
//! reading of an input.

use crate::state_memory::StateAlloc;

/// One segment: its blocks come from [`StateAlloc`] (see
/// [`state_memory`](crate::state_memory)).
type Segment<T> = allocator_api2::vec::Vec<T, StateAlloc>;

/// Elements per segment (every segment but the last is full).
const SEGMENT: usize = 1 << 12;

/// A growable array stored in segments of [`SEGMENT`] elements.
///
/// A `Vec` doubles its capacity when full, copying every element into an
/// allocation twice the size while the old one is still held. The maps of
/// an input hold an element for each of its meter readings or keys, and
/// they all reach the same powers of two at about the same moment: on a
/// feed of hundreds of thousands of usage points their copies, tens of
/// megabytes at once, made the peak of a conversion. Here growing adds one
/// segment and never moves an element; the first segment grows as a `Vec`
/// does, so a small array stays small. Indexing costs a shift and a mask.
#[derive(Clone)]
pub(crate) struct Segmented<T> {
    segments: Vec<Segment<T>>,
    len: usize,
}

impl<T> Default for Segmented<T> {
    fn default() -> Self {
        Segmented {
            segments: Vec::new(),
            len: 0,
        }
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for Segmented<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<T> Segmented<T> {
    /// Elements held.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Append `value`.
    pub(crate) fn push(&mut self, value: T) {
        match self.segments.last_mut() {
            Some(last) if last.len() < SEGMENT => last.push(value),
            _ => {
                let mut segment = if self.segments.is_empty() {
                    Segment::new_in(StateAlloc)
                } else {
                    Segment::with_capacity_in(SEGMENT, StateAlloc)
                };
                segment.push(value);
                self.segments.push(segment);
            }
        }
        self.len += 1;
    }

    /// The last element.
    pub(crate) fn last(&self) -> Option<&T> {
        self.segments.last().and_then(|s| s.last())
    }

    /// Elements in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &T> + '_ {
        self.segments.iter().flatten()
    }

    /// Elements in order, to change.
    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = &mut T> + '_ {
        self.segments.iter_mut().flatten()
    }
}

impl<T> std::ops::Index<usize> for Segmented<T> {
    type Output = T;

    #[inline]
    fn index(&self, at: usize) -> &T {
        &self.segments[at / SEGMENT][at % SEGMENT]
    }
}

impl<T> std::ops::IndexMut<usize> for Segmented<T> {
    #[inline]
    fn index_mut(&mut self, at: usize) -> &mut T {
        &mut self.segments[at / SEGMENT][at % SEGMENT]
    }
}

impl<T> IntoIterator for Segmented<T> {
    type Item = T;
    type IntoIter = std::iter::Flatten<std::vec::IntoIter<Segment<T>>>;

    fn into_iter(self) -> Self::IntoIter {
        self.segments.into_iter().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_elements_in_order_across_segments() {
        let mut values = Segmented::default();
        let n = SEGMENT * 3 + 17;
        for i in 0..n {
            values.push(i);
        }
        assert_eq!(values.len(), n);
        assert_eq!(values.last(), Some(&(n - 1)));
        assert_eq!(values.segments.len(), 4);
        // Segments after the first are allocated whole: none ever moves.
        assert!(values.segments[1..].iter().all(|s| s.capacity() == SEGMENT));
        for i in [0, 1, SEGMENT - 1, SEGMENT, 2 * SEGMENT + 5, n - 1] {
            assert_eq!(values[i], i);
        }
        values[SEGMENT] = 7;
        assert_eq!(values[SEGMENT], 7);
        for v in values.iter_mut() {
            *v += 1;
        }
        let expected: Vec<usize> = (0..n)
            .map(|i| if i == SEGMENT { 8 } else { i + 1 })
            .collect();
        assert!(values.iter().copied().eq(expected.iter().copied()));
        assert_eq!(values.into_iter().collect::<Vec<_>>(), expected);
    }

    #[test]
    fn a_small_array_stays_small() {
        let mut values = Segmented::default();
        values.push(1u64);
        values.push(2);
        assert!(values.segments[0].capacity() < 64);
        assert_eq!(values.iter().copied().collect::<Vec<_>>(), [1, 2]);
    }
}
