//! One cycle of nginx's smooth weighted round-robin, computed fast enough for 1000 servers of
//! any weights.
//!
//! nginx adds each weight to its server's running score, picks the highest score (the first
//! in configured order on ties) and takes the total weight off the winner. After `k` picks, a
//! server of weight `w` picked `p` times scores `k * w - total * p`. So:
//! - among servers of equal weight the least picked, then the first, leads: a group of equal
//!   weights takes turns, and only one leader per distinct weight competes at each step;
//! - a leader's score is a line in `k` that changes only when its group is picked. The
//!   leaders sit in a kinetic tournament tree: each node keeps its winner and the step at
//!   which the loser's steeper line would overtake it, and only nodes whose step has come,
//!   or whose leaf was picked, are recomputed.
//!
//! Dividing the weights by their greatest common divisor gives the same order with a shorter
//! cycle: `sum(weights) / gcd` picks.

/// The cycle over `weights`, as positions into it; weights of 0 never appear.
pub(crate) fn smooth_cycle(weights: &[u32]) -> Vec<u32> {
    let divisor = weights.iter().copied().fold(0, gcd);
    if divisor == 0 {
        return Vec::new();
    }
    let mut sorted: Vec<(u32, u32)> = (0u32..).zip(weights.iter().map(|w| w / divisor)).collect();
    sorted.retain(|&(_, weight)| weight > 0);
    sorted.sort_unstable_by_key(|&(position, weight)| (weight, position));
    let total: i64 = sorted.iter().map(|&(_, weight)| i64::from(weight)).sum();
    let groups: Vec<Vec<u32>> = sorted
        .chunk_by(|a, b| a.1 == b.1)
        .map(|chunk| chunk.iter().map(|&(position, _)| position).collect())
        .collect();
    let leaders = sorted
        .chunk_by(|a, b| a.1 == b.1)
        .map(|chunk| Leader {
            weight: i64::from(chunk[0].1),
            offset: 0,
            turn: 0,
            position: chunk[0].0,
        })
        .collect();
    let mut tree = Tournament::new(leaders);
    let mut cycle = Vec::with_capacity(total as usize);
    for step in 1..=total {
        tree.refresh(1, step);
        let group = tree.winner[1] as usize;
        let members = &groups[group];
        let leader = &mut tree.leaders[group];
        cycle.push(leader.position);
        leader.turn += 1;
        if leader.turn == members.len() {
            leader.turn = 0;
            leader.offset -= total;
        }
        leader.position = members[leader.turn];
        tree.invalidate(group);
    }
    cycle
}

/// The next server of a group of equal weights, and the group's score line:
/// `step * weight + offset`, where `offset` is `-total` per round the group completed.
struct Leader {
    weight: i64,
    offset: i64,
    /// Index of `position` within its group.
    turn: usize,
    position: u32,
}

const NONE: u32 = u32::MAX;
const NEVER: i64 = i64::MAX;

/// A kinetic tournament tree over the leaders, root at 1, leaves from `width` on.
struct Tournament {
    leaders: Vec<Leader>,
    width: usize,
    /// Winning leader of each node.
    winner: Vec<u32>,
    /// First step at which a node's winner may change: its own loser overtaking it, or a
    /// change below it. Leaves never expire.
    expiry: Vec<i64>,
}

impl Tournament {
    fn new(leaders: Vec<Leader>) -> Self {
        let width = leaders.len().next_power_of_two().max(2);
        let mut tree = Tournament {
            winner: (0..2 * width)
                .map(|node| match node.checked_sub(width) {
                    Some(leaf) if leaf < leaders.len() => leaf as u32,
                    _ => NONE,
                })
                .collect(),
            expiry: vec![NEVER; 2 * width],
            leaders,
            width,
        };
        for node in 1..width {
            tree.expiry[node] = i64::MIN;
        }
        tree
    }

    /// Recomputes, bottom-up, every node under `node` whose winner may have changed by `step`.
    fn refresh(&mut self, node: usize, step: i64) {
        if node >= self.width || self.expiry[node] > step {
            return;
        }
        self.refresh(2 * node, step);
        self.refresh(2 * node + 1, step);
        let (left, right) = (self.winner[2 * node], self.winner[2 * node + 1]);
        let (winner, loser) = if self.beats(right, left, step) {
            (right, left)
        } else {
            (left, right)
        };
        self.winner[node] = winner;
        self.expiry[node] = self.expiry[2 * node]
            .min(self.expiry[2 * node + 1])
            .min(self.overtakes(loser, winner, step));
    }

    /// Marks the path from a picked leaf to the root for recomputation.
    fn invalidate(&mut self, leaf: usize) {
        let mut node = (self.width + leaf) / 2;
        while node >= 1 {
            self.expiry[node] = i64::MIN;
            node /= 2;
        }
    }

    /// Whether leader `a` leads `b` at `step`: higher score, then lower position.
    fn beats(&self, a: u32, b: u32, step: i64) -> bool {
        match (a, b) {
            (NONE, _) => false,
            (_, NONE) => true,
            _ => {
                let (a, b) = (&self.leaders[a as usize], &self.leaders[b as usize]);
                let (score_a, score_b) = (step * a.weight + a.offset, step * b.weight + b.offset);
                score_a > score_b || (score_a == score_b && a.position < b.position)
            }
        }
    }

    /// The first step after `step` at which `loser` leads `winner`, if their lines stay put.
    fn overtakes(&self, loser: u32, winner: u32, step: i64) -> i64 {
        if loser == NONE || winner == NONE {
            return NEVER;
        }
        let (loser, winner) = (
            &self.leaders[loser as usize],
            &self.leaders[winner as usize],
        );
        let gain = loser.weight - winner.weight;
        if gain <= 0 {
            return NEVER;
        }
        // The loser leads once `k * gain` exceeds the gap (or equals it, if it comes first).
        let gap = winner.offset - loser.offset;
        let at = if gap % gain == 0 && loser.position < winner.position {
            gap / gain
        } else {
            gap.div_euclid(gain) + 1
        };
        debug_assert!(at > step, "the loser leads already");
        at
    }
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 { a } else { gcd(b, a % b) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// nginx's algorithm, step by step over every server.
    fn nginx_reference(weights: &[u32]) -> Vec<u32> {
        let total: i64 = weights.iter().map(|&w| i64::from(w)).sum();
        let mut current = vec![0i64; weights.len()];
        (0..total)
            .map(|_| {
                let mut best = 0;
                for (position, &weight) in weights.iter().enumerate() {
                    current[position] += i64::from(weight);
                    if current[position] > current[best] {
                        best = position;
                    }
                }
                current[best] -= total;
                best as u32
            })
            .collect()
    }

    #[test]
    fn five_one_one_interleaves_like_nginx() {
        let names: String = smooth_cycle(&[5, 1, 1])
            .iter()
            .map(|&position| (b'a' + position as u8) as char)
            .collect();
        assert_eq!(names, "aabacaa");
    }

    #[test]
    fn cycle_is_reduced_by_the_gcd() {
        assert_eq!(smooth_cycle(&[100, 100, 200]), vec![2, 0, 1, 2]);
    }

    #[test]
    fn zero_weights_and_empty_sets_give_empty_cycles() {
        assert!(smooth_cycle(&[]).is_empty());
        assert!(smooth_cycle(&[0, 0]).is_empty());
        assert_eq!(smooth_cycle(&[0, 3]), vec![1]);
    }

    proptest::proptest! {
        #[test]
        fn matches_nginx_step_for_step(
            weights in proptest::collection::vec(prop_weight(), 1..24)
        ) {
            let divisor = weights.iter().copied().fold(0, gcd);
            let reduced: Vec<u32> = weights.iter().map(|w| w / divisor.max(1)).collect();
            proptest::prop_assert_eq!(smooth_cycle(&weights), nginx_reference(&reduced));
        }
    }

    fn prop_weight() -> impl proptest::strategy::Strategy<Value = u32> {
        use proptest::prelude::*;
        prop_oneof![1 => Just(0u32), 4 => 1u32..=12, 1 => 1u32..=256]
    }
}
