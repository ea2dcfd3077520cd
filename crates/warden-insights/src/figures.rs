//! A period's figures from its daily counts (warden-audit's rollup.rs names each metric
//! and key).

use std::collections::{BTreeMap, HashMap};

use warden_audit::{RollupRow, metric};
use warden_protocol::{
    Count, DayCount, DecisionCount, DenialCount, HostCount, InsightsResponse, McpCount,
    ReviewFigures,
};

use crate::period::{Period, day_name};

/// Most hosts in each "top" list.
const TOP: usize = 10;

/// Counts summed over the period, by metric and key.
pub(crate) struct Totals(HashMap<String, BTreeMap<String, u64>>);

impl Totals {
    pub fn of(rows: &[RollupRow]) -> Self {
        let mut all: HashMap<String, BTreeMap<String, u64>> = HashMap::new();
        for r in rows {
            *all.entry(r.metric.clone())
                .or_default()
                .entry(r.key.clone())
                .or_default() += r.n.max(0) as u64;
        }
        Self(all)
    }

    /// Every key of `metric` with its total.
    pub fn of_metric(&self, metric: &str) -> impl Iterator<Item = (&str, u64)> {
        self.0
            .get(metric)
            .into_iter()
            .flatten()
            .map(|(k, n)| (k.as_str(), *n))
    }

    fn sum(&self, metric: &str) -> u64 {
        self.of_metric(metric).map(|(_, n)| n).sum()
    }

    /// Keys of two parts (`a\tb`) with their totals.
    pub fn pairs(&self, metric: &str) -> impl Iterator<Item = (&str, &str, u64)> {
        self.of_metric(metric)
            .filter_map(|(k, n)| k.split_once('\t').map(|(a, b)| (a, b, n)))
    }
}

/// Most first, then by name.
fn ranked(counts: impl IntoIterator<Item = (String, u64)>) -> Vec<Count> {
    let mut v: Vec<Count> = counts
        .into_iter()
        .map(|(name, n)| Count { name, n })
        .collect();
    v.sort_by(|a, b| b.n.cmp(&a.n).then_with(|| a.name.cmp(&b.name)));
    v
}

/// The figures (suggestions left empty).
pub(crate) fn figures(rows: &[RollupRow], period: Period) -> InsightsResponse {
    let totals = Totals::of(rows);
    let mut per_day: BTreeMap<i64, u64> = period.days().map(|d| (d, 0)).collect();
    for r in rows.iter().filter(|r| r.metric == metric::SESSION) {
        if let Some(n) = per_day.get_mut(&r.day) {
            *n += r.n.max(0) as u64;
        }
    }
    let mut decisions: Vec<DecisionCount> = totals
        .pairs(metric::DECISION)
        .map(|(outcome, by, n)| DecisionCount {
            outcome: outcome.into(),
            by: by.into(),
            n,
        })
        .collect();
    decisions.sort_by(|a, b| {
        b.n.cmp(&a.n)
            .then_with(|| (&a.outcome, &a.by).cmp(&(&b.outcome, &b.by)))
    });
    let by_person = decisions
        .iter()
        .filter(|d| d.by == "user")
        .map(|d| d.n)
        .sum();
    let mut mcp_tools: Vec<McpCount> = totals
        .pairs(metric::MCP)
        .map(|(server, tool, n)| McpCount {
            server: server.into(),
            tool: tool.into(),
            n,
        })
        .collect();
    mcp_tools.sort_by(|a, b| {
        b.n.cmp(&a.n)
            .then_with(|| (&a.server, &a.tool).cmp(&(&b.server, &b.tool)))
    });
    let mut denials: Vec<DenialCount> = totals
        .pairs(metric::DENIAL)
        .map(|(operation, layer, n)| DenialCount {
            operation: operation.into(),
            layer: layer.into(),
            n,
        })
        .collect();
    denials.sort_by(|a, b| b.n.cmp(&a.n).then_with(|| a.operation.cmp(&b.operation)));
    let network = hosts(&totals);
    let top = |pick: fn(&HostCount) -> u64| {
        let mut v = ranked(network.iter().map(|h| (h.host.clone(), pick(h))));
        v.retain(|c| c.n > 0);
        v.truncate(TOP);
        v
    };
    InsightsResponse {
        from: day_name(period.first),
        to: day_name(period.last),
        sessions: totals.sum(metric::SESSION),
        sessions_per_day: per_day
            .into_iter()
            .map(|(day, sessions)| DayCount {
                day: day_name(day),
                sessions,
            })
            .collect(),
        workspaces: ranked(
            totals
                .of_metric(metric::WORKSPACE)
                .map(|(k, n)| (k.to_string(), n)),
        ),
        tools: ranked(
            totals
                .of_metric(metric::TOOL)
                .map(|(k, n)| (k.to_string(), n)),
        ),
        mcp_tools,
        decided: decisions.iter().map(|d| d.n).sum(),
        by_person,
        decisions,
        median_answer_ms: median(&totals),
        top_refused_hosts: top(|h| h.refused),
        top_asked_hosts: top(|h| h.asked),
        network,
        denials,
        review: review(&totals),
        suggestions: Vec::new(),
    }
}

/// Each host's allowed, refused and asked counts, busiest first.
fn hosts(totals: &Totals) -> Vec<HostCount> {
    let mut by_host: BTreeMap<String, HostCount> = BTreeMap::new();
    let counts = totals
        .pairs(metric::NETWORK)
        .map(|(outcome, host, n)| (host, Some(outcome == "allow"), n))
        .chain(
            totals
                .of_metric(metric::NETWORK_ASKED)
                .map(|(host, n)| (host, None, n)),
        );
    for (host, allowed, n) in counts {
        let h = by_host
            .entry(host.to_string())
            .or_insert_with(|| HostCount {
                host: host.to_string(),
                allowed: 0,
                refused: 0,
                asked: 0,
            });
        match allowed {
            Some(true) => h.allowed += n,
            Some(false) => h.refused += n,
            None => h.asked += n,
        }
    }
    let mut v: Vec<HostCount> = by_host.into_values().collect();
    v.sort_by(|a, b| {
        (b.allowed + b.refused + b.asked)
            .cmp(&(a.allowed + a.refused + a.asked))
            .then_with(|| a.host.cmp(&b.host))
    });
    v
}

/// The median of every answer's time (the mean of the two middle ones for an even count).
fn median(totals: &Totals) -> Option<u64> {
    let mut times: Vec<(u64, u64)> = totals
        .of_metric(metric::ANSWER_MS)
        .filter_map(|(k, n)| k.parse().ok().map(|ms| (ms, n)))
        .collect();
    times.sort_unstable();
    let count: u64 = times.iter().map(|(_, n)| n).sum();
    if count == 0 {
        return None;
    }
    let at = |rank: u64| {
        let mut seen = 0;
        times
            .iter()
            .find(|(_, n)| {
                seen += n;
                seen > rank
            })
            .map(|(ms, _)| *ms)
            .unwrap_or_default()
    };
    let (low, high) = (at((count - 1) / 2), at(count / 2));
    Some((low + high) / 2)
}

fn review(totals: &Totals) -> ReviewFigures {
    let mut r = ReviewFigures::default();
    for (_, said, n) in totals.pairs(metric::REVIEW) {
        r.reviews += n;
        match said {
            "approve" => r.approvals += n,
            "ask" => r.escalations += n,
            "deny" => r.denials += n,
            _ => r.unavailable += n,
        }
    }
    for (key, n) in totals.of_metric(metric::REVIEW_TOKENS) {
        match key {
            "in" => r.tokens_in += n,
            _ => r.tokens_out += n,
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(day: i64, metric: &str, key: &str, n: i64) -> RollupRow {
        RollupRow {
            day,
            metric: metric.into(),
            key: key.into(),
            n,
        }
    }

    #[test]
    fn the_median_answer_time_weighs_each_answer_once() {
        // Brute force: every multiset of up to six small times.
        let mut seed = 1u64;
        for _ in 0..500 {
            let len = (seed % 6) as usize + 1;
            let mut times = Vec::new();
            for _ in 0..len {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                times.push((seed >> 33) % 50);
            }
            let rows: Vec<RollupRow> = times
                .iter()
                .map(|t| row(1, metric::ANSWER_MS, &t.to_string(), 1))
                .collect();
            let mut sorted = times.clone();
            sorted.sort_unstable();
            let expected = (sorted[(len - 1) / 2] + sorted[len / 2]) / 2;
            assert_eq!(median(&Totals::of(&rows)), Some(expected), "{times:?}");
        }
        assert_eq!(median(&Totals::of(&[])), None);
    }

    #[test]
    fn sessions_per_day_cover_every_day_of_the_period_and_only_those() {
        let period = Period {
            first: 10,
            last: 12,
        };
        let rows = [
            row(9, metric::SESSION, "", 4),
            row(10, metric::SESSION, "", 2),
            row(12, metric::SESSION, "", 1),
        ];
        let f = figures(&rows, period);
        let days: Vec<u64> = f.sessions_per_day.iter().map(|d| d.sessions).collect();
        assert_eq!(days, vec![2, 0, 1]);
        assert_eq!(f.sessions_per_day[0].day, "1970-01-11");
    }
}
