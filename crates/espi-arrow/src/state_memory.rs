//! Where what a conversion keeps per meter reading lives: on the heap up to
//! a budget, past it in a temporary file mapped into memory.
//!
//! Entries may come in any order, so a conversion keeps, to the end of its
//! input, every meter reading's hrefs, links and series counts: about 500
//! bytes a usage point, 350 MB for a daily feed of 700,000 usage points.
//! The large blocks of that state (the segments of [`Segmented`] arrays,
//! the text of [`Keys`], hash tables: [`LARGE`] bytes or more, allocated
//! through [`StateAlloc`]) take the heap up to [`state_memory_budget`]
//! bytes, shared by every conversion of the process. Past it they are
//! placed in a temporary file mapped into memory: the operating system
//! keeps the pages in use in memory and writes the others back to the file
//! when memory runs short, as it does with a mapped input, so the
//! process's own (anonymous) memory stays bounded whatever the number of
//! meter readings. The file's blocks are reserved when a window of it is
//! mapped, so a full disk refuses a window (the state then stays on the
//! heap) instead of failing a write later. The file is created in the
//! temporary directory (`TMPDIR`) and deleted when the process ends; its
//! windows are unmapped and its space given back whenever no state is left
//! in it. Where that directory is itself in memory (tmpfs), the pages stay
//! in memory as shared pages: point `TMPDIR` at a disk there. File backing
//! is used on Linux (where the blocks can be reserved); elsewhere all state
//! is on the heap.
//!
//! [`Segmented`]: crate::segmented::Segmented
//! [`Keys`]: crate::keys::Keys

use std::alloc::Layout;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use allocator_api2::alloc::{AllocError, Allocator, Global};

/// Blocks of at least this many bytes are counted against the budget and
/// may be placed in the file; smaller ones are always on the heap.
pub(crate) const LARGE: usize = 64 << 10;

/// Bytes of the file mapped at once (a larger block gets a window of its
/// own size).
const WINDOW: usize = 64 << 20;

/// Blocks in the file start at multiples of this (a page on every
/// platform espi runs on, and more than any alignment asked).
const BLOCK_ALIGN: usize = 64 << 10;

/// The default of [`state_memory_budget`]: 4 MiB.
pub const DEFAULT_STATE_MEMORY_BUDGET: usize = 4 << 20;

static BUDGET: AtomicUsize = AtomicUsize::new(DEFAULT_STATE_MEMORY_BUDGET);
static ARENA: Mutex<Arena> = Mutex::new(Arena::new());

/// Bytes of heap that the large blocks of conversion state may take in this
/// process before further ones go to a memory-mapped temporary file.
///
/// ```
/// assert_eq!(espi_arrow::state_memory_budget(), espi_arrow::DEFAULT_STATE_MEMORY_BUDGET);
/// ```
pub fn state_memory_budget() -> usize {
    BUDGET.load(Ordering::Relaxed)
}

/// Set [`state_memory_budget`] for the conversions of this process (blocks
/// already placed stay where they are). `usize::MAX` keeps all state on the
/// heap; 0 places every large block in the file.
pub fn set_state_memory_budget(bytes: usize) {
    BUDGET.store(bytes, Ordering::Relaxed);
}

/// Bytes of conversion state now on the heap and in the mapped file (large
/// blocks only).
///
/// ```
/// let (heap, mapped) = espi_arrow::state_memory_in_use();
/// assert!(heap <= espi_arrow::state_memory_budget() || mapped == 0);
/// ```
pub fn state_memory_in_use() -> (usize, usize) {
    let arena = lock();
    (arena.heap, arena.mapped)
}

/// Why conversion state past the budget could not be placed in the mapped
/// file, if it could not (it is then on the heap): the temporary directory
/// missing, not writable or full.
pub fn state_file_error() -> Option<String> {
    lock().failed.clone()
}

/// A hash map of conversion state (see [`StateAlloc`]).
pub(crate) type StateMap<K, V> = hashbrown::HashMap<K, V, ahash::RandomState, StateAlloc>;
/// A hash set of conversion state (see [`StateAlloc`]).
pub(crate) type StateSet<K> = hashbrown::HashSet<K, ahash::RandomState, StateAlloc>;

/// The allocator of the state kept per meter reading: small blocks and
/// blocks within the budget from the heap, the others from the mapped file.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct StateAlloc;

// SAFETY: every block handed out is either the heap's (allocated and freed
// through `Global` with the same layout) or a range of a mapped window
// that no other block overlaps and that stays mapped until it is released
// (windows are dropped only when no block of the file is live). Blocks are
// told apart on release by their address.
unsafe impl Allocator for StateAlloc {
    fn allocate(&self, layout: Layout) -> Result<NonNull<[u8]>, AllocError> {
        if layout.size() < LARGE {
            return Global.allocate(layout);
        }
        let mut arena = lock();
        if arena.heap + layout.size() <= state_memory_budget() || layout.align() > BLOCK_ALIGN {
            return arena.on_heap(layout);
        }
        match arena.in_file(layout.size()) {
            Some(block) => Ok(block),
            None => arena.on_heap(layout),
        }
    }

    unsafe fn deallocate(&self, ptr: NonNull<u8>, layout: Layout) {
        if layout.size() < LARGE {
            // SAFETY: small blocks are always the heap's, allocated with
            // this layout (the caller's contract).
            unsafe { Global.deallocate(ptr, layout) };
            return;
        }
        let mut arena = lock();
        if !arena.release(ptr, layout.size()) {
            arena.heap -= layout.size();
            // SAFETY: not in a window, so allocated by `Global` with this
            // layout.
            unsafe { Global.deallocate(ptr, layout) };
        }
    }
}

fn lock() -> std::sync::MutexGuard<'static, Arena> {
    ARENA.lock().unwrap_or_else(|e| e.into_inner())
}

/// The mapped file and the heap's share of the budget.
struct Arena {
    /// Bytes of large blocks on the heap.
    heap: usize,
    /// Bytes of live blocks in the file.
    mapped: usize,
    file: Option<std::fs::File>,
    file_len: u64,
    windows: Vec<Window>,
    /// Released blocks of the file: (size, address; its provenance
    /// exposed), reused whole or in part ([`Arena::reuse`]).
    free: Vec<(usize, usize)>,
    /// Why the file could not be created or grown, when it could not:
    /// state stays on the heap from then on.
    failed: Option<String>,
}

struct Window {
    map: memmap2::MmapMut,
    used: usize,
}

impl Window {
    fn contains(&self, address: usize) -> bool {
        let start = self.map.as_ptr() as usize;
        (start..start + self.map.len()).contains(&address)
    }
}

impl Arena {
    const fn new() -> Self {
        Arena {
            heap: 0,
            mapped: 0,
            file: None,
            file_len: 0,
            windows: Vec::new(),
            free: Vec::new(),
            failed: None,
        }
    }

    fn on_heap(&mut self, layout: Layout) -> Result<NonNull<[u8]>, AllocError> {
        let block = Global.allocate(layout)?;
        self.heap += layout.size();
        Ok(block)
    }

    /// A block of `size` bytes in the file, or `None` when the file cannot
    /// hold it.
    fn in_file(&mut self, size: usize) -> Option<NonNull<[u8]>> {
        let size = size.checked_next_multiple_of(BLOCK_ALIGN)?;
        let address = match self.reuse(size) {
            Some(address) => address,
            None => self.carve(size)?,
        };
        self.mapped += size;
        let start = NonNull::new(std::ptr::with_exposed_provenance_mut::<u8>(address))?;
        Some(NonNull::slice_from_raw_parts(start, size))
    }

    /// A released block of `size` bytes: the smallest that holds it, its
    /// rest released again. (Its pages are already in memory: a table that
    /// grew leaves its old blocks to the arrays that grow after it.)
    fn reuse(&mut self, size: usize) -> Option<usize> {
        let (at, &(found, address)) = self
            .free
            .iter()
            .enumerate()
            .filter(|(_, &(free, _))| free >= size)
            .min_by_key(|(_, &(free, _))| free)?;
        self.free.swap_remove(at);
        if found > size {
            self.free.push((found - size, address + size));
        }
        Some(address)
    }

    /// A new block of `size` bytes from the last window, or from a new one.
    fn carve(&mut self, size: usize) -> Option<usize> {
        let fits = self
            .windows
            .last()
            .is_some_and(|w| w.map.len() - w.used >= size);
        if !fits {
            let window = self.map_window(size.max(WINDOW))?;
            self.windows.push(window);
        }
        let window = self.windows.last_mut()?;
        let address = window
            .map
            .as_mut_ptr()
            .wrapping_add(window.used)
            .expose_provenance();
        window.used += size;
        Some(address)
    }

    fn map_window(&mut self, len: usize) -> Option<Window> {
        // Only where the file's blocks can be reserved (see `reserve`).
        if !cfg!(target_os = "linux") || self.failed.is_some() {
            return None;
        }
        match self.try_map_window(len) {
            Ok(window) => Some(window),
            Err(e) => {
                self.failed = Some(e.to_string());
                None
            }
        }
    }

    fn try_map_window(&mut self, len: usize) -> std::io::Result<Window> {
        let file = match &self.file {
            Some(file) => file,
            None => {
                self.file_len = 0;
                self.file.insert(tempfile::tempfile()?)
            }
        };
        let offset = self.file_len;
        reserve(file, offset, len)?;
        // SAFETY: the file is this arena's own, unlinked temporary file:
        // nothing else maps, writes or truncates it while the window is
        // mapped (the arena truncates it only after dropping every window).
        let map = unsafe {
            memmap2::MmapOptions::new()
                .offset(offset)
                .len(len)
                .map_mut(file)
        }?;
        self.file_len = offset + len as u64;
        Ok(Window { map, used: 0 })
    }

    /// Take back the block at `ptr` if it is in the file: true when it was.
    fn release(&mut self, ptr: NonNull<u8>, size: usize) -> bool {
        let address = ptr.as_ptr() as usize;
        if !self.windows.iter().any(|w| w.contains(address)) {
            return false;
        }
        let size = size.next_multiple_of(BLOCK_ALIGN);
        self.mapped -= size;
        if self.mapped == 0 {
            // Nothing left in the file: unmap it and give its space back.
            self.windows.clear();
            self.free.clear();
            if let Some(file) = &self.file {
                if file.set_len(0).is_ok() {
                    self.file_len = 0;
                } else {
                    self.file = None;
                }
            }
        } else {
            self.free.push((size, address));
        }
        true
    }
}

/// Reserve the disk blocks of `len` bytes at `offset` of `file`, so that
/// writing the mapped pages never finds the disk full. Only where the
/// system can reserve them; elsewhere state stays on the heap.
#[cfg(target_os = "linux")]
fn reserve(file: &std::fs::File, offset: u64, len: usize) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let too_large = |_| std::io::Error::from(std::io::ErrorKind::FileTooLarge);
    let offset = libc::off_t::try_from(offset).map_err(too_large)?;
    let len = libc::off_t::try_from(len).map_err(too_large)?;
    // SAFETY: a plain system call on an open descriptor.
    match unsafe { libc::posix_fallocate(file.as_raw_fd(), offset, len) } {
        0 => Ok(()),
        code => Err(std::io::Error::from_raw_os_error(code)),
    }
}

#[cfg(not(target_os = "linux"))]
fn reserve(_file: &std::fs::File, _offset: u64, _len: usize) -> std::io::Result<()> {
    Err(std::io::Error::from(std::io::ErrorKind::Unsupported))
}

#[cfg(test)]
mod tests {
    use super::*;
    use allocator_api2::vec::Vec as StateVec;

    /// Tests that change the process-wide budget run one at a time.
    static SERIAL: Mutex<()> = Mutex::new(());

    #[test]
    #[cfg(target_os = "linux")]
    fn blocks_past_the_budget_live_in_the_file_and_keep_their_contents() {
        let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let before = state_memory_budget();
        set_state_memory_budget(0);
        let mut vectors: std::vec::Vec<StateVec<u64, StateAlloc>> = (0..40)
            .map(|i| {
                let mut v = StateVec::with_capacity_in(LARGE / 8 * (1 + i % 3), StateAlloc);
                v.extend((0..v.capacity() as u64).map(|x| x * 3 + i as u64));
                v
            })
            .collect();
        assert!(state_memory_in_use().1 >= 40 * LARGE);
        // Growing moves a block to a larger one and frees the old.
        for v in vectors.iter_mut().step_by(7) {
            let n = v.len() as u64;
            v.extend(n..n + 10_000);
        }
        for (i, v) in vectors.iter().enumerate() {
            let first = v.capacity().min(LARGE / 8 * (1 + i % 3));
            assert!(v
                .iter()
                .take(first)
                .enumerate()
                .all(|(x, &y)| y == x as u64 * 3 + i as u64));
        }
        // Freed blocks are reused, and the file is emptied when no block
        // is left in it.
        vectors.truncate(20);
        let again: StateVec<u8, StateAlloc> = StateVec::with_capacity_in(LARGE, StateAlloc);
        drop(again);
        drop(vectors);
        let arena = lock();
        assert!(arena.windows.is_empty() || arena.mapped > 0);
        drop(arena);
        set_state_memory_budget(before);
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn a_released_block_is_reused_whole_or_in_part_and_the_file_emptied() {
        let at = |block: NonNull<[u8]>| block.cast::<u8>().as_ptr() as usize;
        let mut arena = Arena::new();
        let big = arena.in_file(4 * BLOCK_ALIGN).unwrap();
        let other = arena.in_file(BLOCK_ALIGN).unwrap();
        assert!(arena.release(big.cast(), 4 * BLOCK_ALIGN));
        // Asked sizes round up to whole blocks; the smallest released
        // block that holds one serves it, front first.
        let part = arena.in_file(BLOCK_ALIGN + 1).unwrap();
        assert_eq!((at(part), part.len()), (at(big), 2 * BLOCK_ALIGN));
        let rest = arena.in_file(2 * BLOCK_ALIGN).unwrap();
        assert_eq!(at(rest), at(big) + 2 * BLOCK_ALIGN);
        assert_eq!(arena.windows.len(), 1);
        // The blocks are memory to write and read.
        // SAFETY: `part` is a live block of `part.len()` bytes.
        let bytes =
            unsafe { std::slice::from_raw_parts_mut(part.cast::<u8>().as_ptr(), part.len()) };
        bytes.fill(7);
        assert!(bytes.iter().all(|&b| b == 7));
        // A block of the heap is not the file's to release.
        let heap = [0u8; 16];
        assert!(!arena.release(NonNull::from(&heap).cast(), 16));
        for (block, size) in [
            (part, BLOCK_ALIGN + 1),
            (rest, 2 * BLOCK_ALIGN),
            (other, BLOCK_ALIGN),
        ] {
            assert!(arena.release(block.cast(), size));
        }
        assert_eq!(arena.mapped, 0);
        assert!(arena.windows.is_empty() && arena.free.is_empty());
        assert_eq!(arena.file_len, 0);
    }

    #[test]
    fn small_blocks_and_blocks_within_the_budget_stay_on_the_heap() {
        let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let before = state_memory_budget();
        set_state_memory_budget(usize::MAX);
        let small: StateVec<u8, StateAlloc> = StateVec::with_capacity_in(100, StateAlloc);
        let large: StateVec<u8, StateAlloc> = StateVec::with_capacity_in(LARGE, StateAlloc);
        let arena = lock();
        assert!(!arena
            .windows
            .iter()
            .any(|w| w.contains(small.as_ptr() as usize)));
        assert!(!arena
            .windows
            .iter()
            .any(|w| w.contains(large.as_ptr() as usize)));
        drop(arena);
        drop((small, large));
        set_state_memory_budget(before);
    }
}
