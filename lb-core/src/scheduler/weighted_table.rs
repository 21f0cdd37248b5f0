//! Weighted sampling in `O(1)` from random bits: Vose's alias method, in integers so that
//! the probabilities are exact. Shared by random and two-choices.
//!
//! Each of the `n` eligible servers owns a column of capacity `W` (the total weight); a
//! column keeps `threshold` of it for its own server and lends the rest to `alias`. A draw
//! picks a column with 32 random bits and a place in it with 32 more: two multiplications
//! and one table read.

use crate::pool::Member;

/// Alias table over the eligible members' weights.
#[derive(Debug)]
pub(crate) struct WeightedTable {
    /// Per column: `(threshold, alias)`, both fit in 32 bits.
    columns: Box<[(u32, u32)]>,
    total: u32,
}

impl WeightedTable {
    pub(crate) fn new(members: &[Member], eligible: &[u32]) -> Self {
        let weights: Vec<u32> = eligible
            .iter()
            .map(|&index| u32::from(members[index as usize].weight))
            .collect();
        Self::from_weights(&weights)
    }

    fn from_weights(weights: &[u32]) -> Self {
        let total: u32 = weights.iter().sum();
        let count = weights.len() as u64;
        // Mass of each column in units of 1/(n * W): weight * n; a full column holds W.
        let mut mass: Vec<u64> = weights.iter().map(|&w| u64::from(w) * count).collect();
        let mut columns: Vec<(u32, u32)> = (0u32..).zip(weights).map(|(i, _)| (total, i)).collect();
        let full = u64::from(total);
        let (mut small, mut large): (Vec<u32>, Vec<u32>) = (0u32..)
            .take(weights.len())
            .partition(|&i| mass[i as usize] < full);
        while let (Some(&under), Some(&over)) = (small.last(), large.last()) {
            small.pop();
            columns[under as usize] = (mass[under as usize] as u32, over);
            mass[over as usize] -= full - mass[under as usize];
            if mass[over as usize] < full {
                large.pop();
                small.push(over);
            }
        }
        // Whatever is left is exactly full (up to nothing: integer masses).
        WeightedTable {
            columns: columns.into_boxed_slice(),
            total,
        }
    }

    /// A position into the eligible set, each with probability weight / total, from 64
    /// uniformly random bits; `None` when the set is empty or every weight is 0.
    pub(crate) fn position(&self, random: u64) -> Option<usize> {
        if self.total == 0 {
            return None;
        }
        let column = scale(random >> 32, self.columns.len() as u64);
        let place = scale(random & u64::from(u32::MAX), u64::from(self.total));
        let (threshold, alias) = self.columns[column as usize];
        Some(if place < u64::from(threshold) {
            column as usize
        } else {
            alias as usize
        })
    }
}

/// Maps 32 uniform bits onto `0..range`.
fn scale(bits: u64, range: u64) -> u64 {
    (bits * range) >> 32
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Exact probabilities: every (column, place) pair counted once.
    fn mass_per_position(table: &WeightedTable) -> Vec<u64> {
        let mut mass = vec![0u64; table.columns.len()];
        for (column, &(threshold, alias)) in table.columns.iter().enumerate() {
            mass[column] += u64::from(threshold);
            mass[alias as usize] += u64::from(table.total - threshold);
        }
        mass
    }

    proptest::proptest! {
        #[test]
        fn probabilities_are_exactly_the_weights(
            weights in proptest::collection::vec(0u32..=256, 1..40)
        ) {
            let table = WeightedTable::from_weights(&weights);
            let count = weights.len() as u64;
            let expected: Vec<u64> = weights.iter().map(|&w| u64::from(w) * count).collect();
            if table.total > 0 {
                proptest::prop_assert_eq!(mass_per_position(&table), expected);
            }
        }
    }

    #[test]
    fn empty_or_weightless_sets_give_nothing() {
        assert_eq!(WeightedTable::from_weights(&[]).position(7), None);
        assert_eq!(WeightedTable::from_weights(&[0, 0]).position(7), None);
    }
}
