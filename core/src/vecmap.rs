//! Small ordered maps and sets backed by sorted `Vec`s.
//!
//! The core keys its deterministic state by many small id types (servers, sessions,
//! links, clients, watch tables in the checker). As `BTreeMap`/`BTreeSet`, every key
//! and value type got its own copy of the B-tree's code, about 4 KB of wasm each, and
//! the page's bundle carried about a hundred of them. A sorted `Vec` does the same job
//! for maps of a few to a few hundred entries with a fraction of the code, and keeps
//! exactly the same iteration order (sorted by key), so traces do not change.
//!
//! A [`VecMap`] keeps its keys and its values in two `Vec`s, in the same order: the
//! binary search is then code per key type, not per key and value type, and inserting,
//! removing, cloning and dropping are the `Vec` code of the key type and of the value
//! type, shared by every map that has one of them (about 170 key/value pairs in the
//! page's bundle, but a dozen key types).
//!
//! [`VecMap`] and [`VecSet`] have the parts of `BTreeMap`'s and `BTreeSet`'s interface
//! the core uses, print with `{:?}` as they do, and serialize as they do (a map, a
//! sequence). Lookups are a binary search; an insertion or removal moves the entries
//! after it, so they are for small collections: the data tree's nodes and children,
//! logs and watch tables stay `BTreeMap`s.

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::{Bound, RangeBounds};

/// An ordered map on sorted `Vec`s: `BTreeMap`'s order and interface, for small maps.
///
/// Compared, ordered and hashed as the sequence of its entries, as a `BTreeMap` is.
#[derive(Clone, PartialEq, Eq)]
pub struct VecMap<K, V> {
    keys: Vec<K>,
    values: Vec<V>,
}

/// A set of strings (paths): a [`BrowserSet`].
pub type StringSet = BrowserSet<String>;

/// A map that a real server may fill with thousands of entries but the page's small
/// worlds keep few in: a `BTreeMap`, except in a wasm build with the `browser-maps`
/// feature (the playground's), where it is a [`VecMap`]: each B-tree key/value type
/// costs about 10 KB of wasm. Both iterate in key order, so traces are the same (the
/// page's wasm tests compare the trace hashes with the native ones).
#[cfg(not(all(target_arch = "wasm32", feature = "browser-maps")))]
pub type BrowserMap<K, V> = std::collections::BTreeMap<K, V>;
/// A map that a real server may fill with thousands of entries but the page's small
/// worlds keep few in: a `BTreeMap`, except in a wasm build with the `browser-maps`
/// feature (the playground's), where it is a [`VecMap`]: each B-tree key/value type
/// costs about 10 KB of wasm. Both iterate in key order, so traces are the same (the
/// page's wasm tests compare the trace hashes with the native ones).
#[cfg(all(target_arch = "wasm32", feature = "browser-maps"))]
pub type BrowserMap<K, V> = VecMap<K, V>;

/// A set that a real server may fill with thousands of elements but the page's small
/// worlds keep few in: a `BTreeSet`, or a [`VecSet`] as [`BrowserMap`] is a [`VecMap`].
#[cfg(not(all(target_arch = "wasm32", feature = "browser-maps")))]
pub type BrowserSet<T> = std::collections::BTreeSet<T>;
/// A set that a real server may fill with thousands of elements but the page's small
/// worlds keep few in: a `BTreeSet`, or a [`VecSet`] as [`BrowserMap`] is a [`VecMap`].
#[cfg(all(target_arch = "wasm32", feature = "browser-maps"))]
pub type BrowserSet<T> = VecSet<T>;

/// The iterator over a [`VecSet`]'s elements, in order.
pub type SetIter<'a, T> = std::slice::Iter<'a, T>;

/// An ordered set on a sorted `Vec`: `BTreeSet`'s order and interface, for small sets.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VecSet<T>(Vec<T>);

impl<K, V> Default for VecMap<K, V> {
    fn default() -> Self {
        VecMap::new()
    }
}

impl<T> Default for VecSet<T> {
    fn default() -> Self {
        VecSet(Vec::new())
    }
}

/// Where `key` is in `keys` (sorted, no repeats), or where it would go.
fn find<K: Borrow<Q>, Q: Ord + ?Sized>(keys: &[K], key: &Q) -> Result<usize, usize> {
    keys.binary_search_by(|k| k.borrow().cmp(key))
}

/// The index range of the keys in `range`, in a sorted slice.
fn bounds<K, Q>(keys: &[K], range: &impl RangeBounds<Q>) -> std::ops::Range<usize>
where
    K: Ord + Borrow<Q>,
    Q: Ord + ?Sized,
{
    let start = match range.start_bound() {
        Bound::Included(q) => keys.partition_point(|k| k.borrow() < q),
        Bound::Excluded(q) => keys.partition_point(|k| k.borrow() <= q),
        Bound::Unbounded => 0,
    };
    let end = match range.end_bound() {
        Bound::Included(q) => keys.partition_point(|k| k.borrow() <= q),
        Bound::Excluded(q) => keys.partition_point(|k| k.borrow() < q),
        Bound::Unbounded => keys.len(),
    };
    start..end.max(start)
}

/// An entry of a [`VecMap`]: a key with a value, or a free place for one.
pub enum Entry<'a, K, V> {
    /// The key has a value.
    Occupied(OccupiedEntry<'a, K, V>),
    /// The key has none; this is where it goes.
    Vacant(VacantEntry<'a, K, V>),
}

/// A key of a [`VecMap`] that has a value.
pub struct OccupiedEntry<'a, K, V> {
    map: &'a mut VecMap<K, V>,
    index: usize,
}

/// A key not in a [`VecMap`], and where it goes.
pub struct VacantEntry<'a, K, V> {
    map: &'a mut VecMap<K, V>,
    index: usize,
    key: K,
}

impl<'a, K, V> Entry<'a, K, V> {
    /// The value, inserting `value` first if there was none.
    pub fn or_insert(self, value: V) -> &'a mut V {
        self.or_insert_with(|| value)
    }

    /// The value, inserting `make()` first if there was none.
    pub fn or_insert_with(self, make: impl FnOnce() -> V) -> &'a mut V {
        match self {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => e.insert(make()),
        }
    }

    /// The value, inserting the default first if there was none.
    pub fn or_default(self) -> &'a mut V
    where
        V: Default,
    {
        self.or_insert_with(V::default)
    }

    /// The entry's key.
    pub fn key(&self) -> &K {
        match self {
            Entry::Occupied(e) => &e.map.keys[e.index],
            Entry::Vacant(e) => &e.key,
        }
    }
}

impl<'a, K, V> OccupiedEntry<'a, K, V> {
    /// The value.
    pub fn get(&self) -> &V {
        &self.map.values[self.index]
    }

    /// The value, mutable, for as long as the map is borrowed.
    pub fn into_mut(self) -> &'a mut V {
        &mut self.map.values[self.index]
    }
}

impl<'a, K, V> VacantEntry<'a, K, V> {
    /// Gives the key `value`.
    pub fn insert(self, value: V) -> &'a mut V {
        self.map.keys.insert(self.index, self.key);
        self.map.values.insert(self.index, value);
        &mut self.map.values[self.index]
    }
}

impl<K, V> VecMap<K, V> {
    /// An empty map.
    pub const fn new() -> Self {
        VecMap { keys: Vec::new(), values: Vec::new() }
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the map is empty.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Removes every entry.
    pub fn clear(&mut self) {
        self.keys.clear();
        self.values.clear();
    }

    /// The entries in key order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&K, &V)> + ExactSizeIterator + Clone {
        self.keys.iter().zip(&self.values)
    }

    /// The entries in key order, values mutable.
    pub fn iter_mut(&mut self) -> impl DoubleEndedIterator<Item = (&K, &mut V)> + ExactSizeIterator {
        self.keys.iter().zip(&mut self.values)
    }

    /// The keys in order.
    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &K> + ExactSizeIterator + Clone {
        self.keys.iter()
    }

    /// The values in key order.
    pub fn values(&self) -> impl DoubleEndedIterator<Item = &V> + ExactSizeIterator + Clone {
        self.values.iter()
    }

    /// The values in key order, mutable.
    pub fn values_mut(&mut self) -> impl DoubleEndedIterator<Item = &mut V> + ExactSizeIterator {
        self.values.iter_mut()
    }

    /// The keys in order, by value.
    pub fn into_keys(self) -> impl DoubleEndedIterator<Item = K> + ExactSizeIterator {
        self.keys.into_iter()
    }

    /// The values in key order, by value.
    pub fn into_values(self) -> impl DoubleEndedIterator<Item = V> + ExactSizeIterator {
        self.values.into_iter()
    }

    /// The entry with the smallest key.
    pub fn first_key_value(&self) -> Option<(&K, &V)> {
        self.keys.first().zip(self.values.first())
    }

    /// The entry with the largest key.
    pub fn last_key_value(&self) -> Option<(&K, &V)> {
        self.keys.last().zip(self.values.last())
    }

    /// Keeps the entries for which `keep` is true.
    pub fn retain(&mut self, mut keep: impl FnMut(&K, &mut V) -> bool) {
        let mut i = 0;
        while i < self.keys.len() {
            if keep(&self.keys[i], &mut self.values[i]) {
                i += 1;
            } else {
                self.remove_at(i);
            }
        }
    }

    fn remove_at(&mut self, i: usize) -> (K, V) {
        (self.keys.remove(i), self.values.remove(i))
    }
}

impl<K: Ord, V> VecMap<K, V> {
    /// The value of `key`.
    pub fn get<Q: Ord + ?Sized>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
    {
        find(&self.keys, key).ok().map(|i| &self.values[i])
    }

    /// The stored key and the value of `key`.
    pub fn get_key_value<Q: Ord + ?Sized>(&self, key: &Q) -> Option<(&K, &V)>
    where
        K: Borrow<Q>,
    {
        find(&self.keys, key).ok().map(|i| (&self.keys[i], &self.values[i]))
    }

    /// The value of `key`, mutable.
    pub fn get_mut<Q: Ord + ?Sized>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
    {
        find(&self.keys, key).ok().map(|i| &mut self.values[i])
    }

    /// Whether `key` has a value.
    pub fn contains_key<Q: Ord + ?Sized>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
    {
        find(&self.keys, key).is_ok()
    }

    /// Sets `key`'s value, returning the one it replaced.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        match find(&self.keys, &key) {
            Ok(i) => Some(std::mem::replace(&mut self.values[i], value)),
            Err(i) => {
                self.keys.insert(i, key);
                self.values.insert(i, value);
                None
            }
        }
    }

    /// Removes `key`, returning its value.
    pub fn remove<Q: Ord + ?Sized>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
    {
        self.remove_entry(key).map(|(_, v)| v)
    }

    /// Removes `key`, returning the stored key and its value.
    pub fn remove_entry<Q: Ord + ?Sized>(&mut self, key: &Q) -> Option<(K, V)>
    where
        K: Borrow<Q>,
    {
        let i = find(&self.keys, key).ok()?;
        Some(self.remove_at(i))
    }

    /// The entry of `key`, to read, insert or change in place.
    pub fn entry(&mut self, key: K) -> Entry<'_, K, V> {
        match find(&self.keys, &key) {
            Ok(index) => Entry::Occupied(OccupiedEntry { map: self, index }),
            Err(index) => Entry::Vacant(VacantEntry { map: self, index, key }),
        }
    }

    /// Removes and returns the entry with the smallest key.
    pub fn pop_first(&mut self) -> Option<(K, V)> {
        if self.keys.is_empty() {
            return None;
        }
        Some(self.remove_at(0))
    }

    /// Removes and returns the entry with the largest key.
    pub fn pop_last(&mut self) -> Option<(K, V)> {
        self.keys.pop().zip(self.values.pop())
    }

    /// Splits the map at `key`: returns the entries from `key` on, keeps those before.
    pub fn split_off<Q: Ord + ?Sized>(&mut self, key: &Q) -> VecMap<K, V>
    where
        K: Borrow<Q>,
    {
        let at = self.keys.partition_point(|k| k.borrow() < key);
        VecMap { keys: self.keys.split_off(at), values: self.values.split_off(at) }
    }

    /// The entries whose keys are in `range`, in order.
    pub fn range<Q: Ord + ?Sized, R: RangeBounds<Q>>(
        &self,
        range: R,
    ) -> std::iter::Zip<std::slice::Iter<'_, K>, std::slice::Iter<'_, V>>
    where
        K: Borrow<Q>,
    {
        let r = bounds(&self.keys, &range);
        self.keys[r.clone()].iter().zip(&self.values[r])
    }
}

impl<K: PartialOrd, V: PartialOrd> PartialOrd for VecMap<K, V> {
    /// As `BTreeMap`: the entries, compared in order.
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        self.iter().partial_cmp(other.iter())
    }
}

impl<K: Ord, V: Ord> Ord for VecMap<K, V> {
    /// As `BTreeMap`: the entries, compared in order.
    fn cmp(&self, other: &Self) -> Ordering {
        self.iter().cmp(other.iter())
    }
}

impl<K: Hash, V: Hash> Hash for VecMap<K, V> {
    /// As a slice of `(key, value)` pairs: the length, then each entry.
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_usize(self.len());
        for (k, v) in self.iter() {
            k.hash(state);
            v.hash(state);
        }
    }
}

impl<K: fmt::Debug, V: fmt::Debug> fmt::Debug for VecMap<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<K: Ord, V> FromIterator<(K, V)> for VecMap<K, V> {
    /// As `BTreeMap`: the last value of a repeated key wins.
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut map = VecMap::new();
        map.extend(iter);
        map
    }
}

impl<K: Ord, V> Extend<(K, V)> for VecMap<K, V> {
    /// One insertion at a time (no sort: a sort per key type is more code than these
    /// small maps are worth).
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, iter: I) {
        for (k, v) in iter {
            self.insert(k, v);
        }
    }
}

impl<K: Ord, V, const N: usize> From<[(K, V); N]> for VecMap<K, V> {
    fn from(entries: [(K, V); N]) -> Self {
        entries.into_iter().collect()
    }
}

impl<K, V> IntoIterator for VecMap<K, V> {
    type Item = (K, V);
    type IntoIter = std::iter::Zip<std::vec::IntoIter<K>, std::vec::IntoIter<V>>;
    fn into_iter(self) -> Self::IntoIter {
        self.keys.into_iter().zip(self.values)
    }
}

impl<'a, K, V> IntoIterator for &'a VecMap<K, V> {
    type Item = (&'a K, &'a V);
    type IntoIter = std::iter::Zip<std::slice::Iter<'a, K>, std::slice::Iter<'a, V>>;
    fn into_iter(self) -> Self::IntoIter {
        self.keys.iter().zip(&self.values)
    }
}

impl<'a, K, V> IntoIterator for &'a mut VecMap<K, V> {
    type Item = (&'a K, &'a mut V);
    type IntoIter = std::iter::Zip<std::slice::Iter<'a, K>, std::slice::IterMut<'a, V>>;
    fn into_iter(self) -> Self::IntoIter {
        self.keys.iter().zip(&mut self.values)
    }
}

impl<K: Ord + Borrow<Q>, Q: Ord + ?Sized, V> std::ops::Index<&Q> for VecMap<K, V> {
    type Output = V;
    fn index(&self, key: &Q) -> &V {
        self.get(key).expect("no entry for the key")
    }
}

impl<T> VecSet<T> {
    /// An empty set.
    pub const fn new() -> Self {
        VecSet(Vec::new())
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Removes every element.
    pub fn clear(&mut self) {
        self.0.clear()
    }

    /// The elements in order.
    pub fn iter(&self) -> SetIter<'_, T> {
        self.0.iter()
    }

    /// The smallest element.
    pub fn first(&self) -> Option<&T> {
        self.0.first()
    }

    /// The largest element.
    pub fn last(&self) -> Option<&T> {
        self.0.last()
    }
}

impl<T: Ord> VecSet<T> {
    /// Keeps the elements for which `keep` is true.
    pub fn retain(&mut self, keep: impl FnMut(&T) -> bool) {
        self.0.retain(keep)
    }

    /// Whether `value` is in the set.
    pub fn contains<Q: Ord + ?Sized>(&self, value: &Q) -> bool
    where
        T: Borrow<Q>,
    {
        find(&self.0, value).is_ok()
    }

    /// The stored element equal to `value`.
    pub fn get<Q: Ord + ?Sized>(&self, value: &Q) -> Option<&T>
    where
        T: Borrow<Q>,
    {
        find(&self.0, value).ok().map(|i| &self.0[i])
    }

    /// Adds `value`; false if it was already there (and the set is unchanged).
    pub fn insert(&mut self, value: T) -> bool {
        match find(&self.0, &value) {
            Ok(_) => false,
            Err(i) => {
                self.0.insert(i, value);
                true
            }
        }
    }

    /// Removes `value`; false if it was not there.
    pub fn remove<Q: Ord + ?Sized>(&mut self, value: &Q) -> bool
    where
        T: Borrow<Q>,
    {
        match find(&self.0, value) {
            Ok(i) => {
                self.0.remove(i);
                true
            }
            Err(_) => false,
        }
    }

    /// Removes and returns the smallest element.
    pub fn pop_first(&mut self) -> Option<T> {
        if self.0.is_empty() {
            return None;
        }
        Some(self.0.remove(0))
    }

    /// Removes and returns the largest element.
    pub fn pop_last(&mut self) -> Option<T> {
        self.0.pop()
    }

    /// The elements in `range`, in order.
    pub fn range<Q: Ord + ?Sized, R: RangeBounds<Q>>(&self, range: R) -> SetIter<'_, T>
    where
        T: Borrow<Q>,
    {
        self.0[bounds(&self.0, &range)].iter()
    }

    /// The elements of `self` also in `other`, in order.
    pub fn intersection<'a>(&'a self, other: &'a VecSet<T>) -> impl Iterator<Item = &'a T> + Clone {
        self.iter().filter(move |t| other.contains(*t))
    }

    /// The elements of `self` not in `other`, in order.
    pub fn difference<'a>(&'a self, other: &'a VecSet<T>) -> impl Iterator<Item = &'a T> + Clone {
        self.iter().filter(move |t| !other.contains(*t))
    }

    /// The elements of either set, in order, each once.
    pub fn union<'a>(&'a self, other: &'a VecSet<T>) -> impl Iterator<Item = &'a T> + Clone {
        let (mut a, mut b) = (self.iter().peekable(), other.iter().peekable());
        let mut out = Vec::with_capacity(self.len() + other.len());
        loop {
            let next = match (a.peek(), b.peek()) {
                (Some(x), Some(y)) if x < y => a.next(),
                (Some(x), Some(y)) if y < x => b.next(),
                (Some(_), Some(_)) => {
                    b.next();
                    a.next()
                }
                (Some(_), None) => a.next(),
                (None, Some(_)) => b.next(),
                (None, None) => break,
            };
            out.extend(next);
        }
        out.into_iter()
    }

    /// Whether every element of `self` is in `other`.
    pub fn is_subset(&self, other: &VecSet<T>) -> bool {
        self.iter().all(|t| other.contains(t))
    }

    /// Whether every element of `other` is in `self`.
    pub fn is_superset(&self, other: &VecSet<T>) -> bool {
        other.is_subset(self)
    }

    /// Whether the sets have no element in common.
    pub fn is_disjoint(&self, other: &VecSet<T>) -> bool {
        self.intersection(other).next().is_none()
    }
}

impl<T: fmt::Debug> fmt::Debug for VecSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl<T: Ord> FromIterator<T> for VecSet<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        let mut set = VecSet::new();
        set.extend(iter);
        set
    }
}

impl<T: Ord> Extend<T> for VecSet<T> {
    fn extend<I: IntoIterator<Item = T>>(&mut self, iter: I) {
        for t in iter {
            self.insert(t);
        }
    }
}

impl<'a, T: Ord + Copy + 'a> Extend<&'a T> for VecSet<T> {
    fn extend<I: IntoIterator<Item = &'a T>>(&mut self, iter: I) {
        self.extend(iter.into_iter().copied())
    }
}

impl<T: Ord, const N: usize> From<[T; N]> for VecSet<T> {
    fn from(values: [T; N]) -> Self {
        values.into_iter().collect()
    }
}

impl<T> IntoIterator for VecSet<T> {
    type Item = T;
    type IntoIter = std::vec::IntoIter<T>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a, T> IntoIterator for &'a VecSet<T> {
    type Item = &'a T;
    type IntoIter = SetIter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<K: serde::Serialize, V: serde::Serialize> serde::Serialize for VecMap<K, V> {
    /// As `BTreeMap`: a map.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter())
    }
}

impl<'de, K: serde::Deserialize<'de> + Ord, V: serde::Deserialize<'de>> serde::Deserialize<'de>
    for VecMap<K, V>
{
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let all = std::collections::BTreeMap::<K, V>::deserialize(d)?;
        Ok(all.into_iter().collect())
    }
}

impl<T: serde::Serialize> serde::Serialize for VecSet<T> {
    /// As `BTreeSet`: a sequence.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

impl<'de, T: serde::Deserialize<'de> + Ord> serde::Deserialize<'de> for VecSet<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Vec::<T>::deserialize(d)?.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::{VecMap, VecSet};
    use std::collections::{BTreeMap, BTreeSet};

    #[test]
    fn a_map_behaves_as_a_btree_map() {
        let mut x = 7u32;
        let mut rand = move || {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x % 50
        };
        let (mut v, mut b) = (VecMap::new(), BTreeMap::new());
        for i in 0..2000u32 {
            let k = rand();
            match rand() % 6 {
                0 | 1 => assert_eq!(v.insert(k, i), b.insert(k, i)),
                2 => assert_eq!(v.remove(&k), b.remove(&k)),
                3 => {
                    *v.entry(k).or_insert(0) += 1;
                    *b.entry(k).or_insert(0) += 1;
                }
                4 => assert_eq!(v.pop_first(), b.pop_first()),
                5 if i % 50 == 0 => {
                    let (mut vt, mut bt) = (v.clone(), b.clone());
                    let (vh, bh) = (vt.split_off(&k), bt.split_off(&k));
                    assert!(vt.iter().eq(bt.iter()) && vh.iter().eq(bh.iter()), "split at {k}");
                }
                _ => {
                    let (lo, hi) = (k.min(rand()), k.max(rand()));
                    assert!(v.range(lo..hi).eq(b.range(lo..hi)));
                    assert!(v.range(lo..=hi).rev().eq(b.range(lo..=hi).rev()));
                    assert!(v.range(..hi).eq(b.range(..hi)));
                }
            }
            assert!(v.iter().eq(b.iter()), "{v:?} {b:?}");
        }
        assert_eq!(format!("{v:?}"), format!("{b:?}"));
        v.retain(|k, _| k % 3 == 0);
        b.retain(|k, _| k % 3 == 0);
        assert!(v.iter().eq(b.iter()));
        let pairs = [(3, 'a'), (1, 'b'), (3, 'c'), (2, 'd')];
        let v: VecMap<_, _> = pairs.into_iter().collect();
        let b: BTreeMap<_, _> = pairs.into_iter().collect();
        assert!(v.iter().eq(b.iter()));
        assert_eq!(serde_json::to_string(&v).unwrap(), serde_json::to_string(&b).unwrap());
        let back: VecMap<u32, char> = serde_json::from_str(&serde_json::to_string(&b).unwrap()).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn maps_compare_and_hash_as_btree_maps() {
        use std::hash::{BuildHasher, RandomState};
        let hasher = RandomState::new();
        let maps: [&[(u8, i16)]; 6] =
            [&[], &[(1, 5)], &[(1, 6)], &[(1, 5), (2, 0)], &[(0, 9), (3, 1)], &[(2, -1)]];
        for x in maps {
            let (vx, bx): (VecMap<_, _>, BTreeMap<_, _>) =
                (x.iter().copied().collect(), x.iter().copied().collect());
            assert_eq!(hasher.hash_one(&vx), hasher.hash_one(&bx), "{x:?}");
            for y in maps {
                let (vy, by): (VecMap<_, _>, BTreeMap<_, _>) =
                    (y.iter().copied().collect(), y.iter().copied().collect());
                assert_eq!(vx.cmp(&vy), bx.cmp(&by), "{x:?} {y:?}");
                assert_eq!(vx.partial_cmp(&vy), bx.partial_cmp(&by), "{x:?} {y:?}");
                assert_eq!(vx == vy, bx == by, "{x:?} {y:?}");
            }
        }
        let mut m: VecMap<u8, u8> = [(4, 1), (2, 2)].into();
        *m.entry(4).or_default() += 10;
        *m.entry(3).or_insert_with(|| 7) += 1;
        assert_eq!(m.entry(9).key(), &9);
        assert!(m.into_iter().eq([(2, 2), (3, 8), (4, 11)]));
    }

    #[test]
    fn a_set_behaves_as_a_btree_set() {
        let a: VecSet<u32> = [5, 1, 3, 9, 1].into_iter().collect();
        let b: VecSet<u32> = [3, 4, 5, 10].into();
        let (ba, bb): (BTreeSet<u32>, BTreeSet<u32>) =
            (a.iter().copied().collect(), b.iter().copied().collect());
        assert!(a.union(&b).eq(ba.union(&bb)));
        assert!(a.intersection(&b).eq(ba.intersection(&bb)));
        assert!(a.difference(&b).eq(ba.difference(&bb)));
        assert!(a.range(2..=5).eq(ba.range(2..=5)));
        assert_eq!(format!("{a:?}"), format!("{ba:?}"));
        assert_eq!(serde_json::to_string(&a).unwrap(), serde_json::to_string(&ba).unwrap());
        let mut c = a.clone();
        assert!(!c.insert(3));
        assert!(c.insert(4));
        assert!(c.remove(&5));
        assert!(!c.remove(&5));
        assert_eq!(c.iter().copied().collect::<Vec<_>>(), vec![1, 3, 4, 9]);
        assert!(VecSet::from([3, 9]).is_subset(&c));
        assert_eq!((c.first(), c.last()), (Some(&1), Some(&9)));
    }
}
