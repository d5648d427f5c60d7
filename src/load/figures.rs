//! Goose's request metrics as the plain [`Figures`] of [`crate::report::load_summary`]:
//! percentiles computed exactly as Goose's own "Aggregated" row, over the merged response-time
//! buckets. Used by the summary of a run, the baseline it is compared with, and `load merge`.

use crate::report::load_summary::Figures;
use goose::metrics::{GooseMetrics, GooseRequestMetricTimingData, TimeBuckets};

/// Every request of `metrics` together, the way Goose's "Aggregated" row adds them.
pub fn aggregated(metrics: &GooseMetrics) -> Figures {
    let mut times = GooseRequestMetricTimingData::default();
    let mut buckets = TimeBuckets::new();
    let (mut requests, mut errors) = (0u64, 0u64);
    for agg in metrics.requests.values() {
        requests += (agg.success_count + agg.fail_count) as u64;
        errors += agg.fail_count as u64;
        merge(&mut times, &mut buckets, &agg.raw_data);
    }
    times.times_us = buckets;
    figures_of(&times, requests, errors, metrics.duration as u64)
}

/// One request's figures.
pub fn figures_of(
    times: &GooseRequestMetricTimingData,
    requests: u64,
    errors: u64,
    seconds: u64,
) -> Figures {
    let ms = |us: u64| us as f64 / 1000.0;
    let has = times.counter > 0;
    let pct = |p: f32| if has { ms(times.percentile_us(p)) } else { 0.0 };
    Figures {
        requests,
        errors,
        rps: if seconds == 0 {
            0.0
        } else {
            requests as f64 / seconds as f64
        },
        p50_ms: pct(0.50),
        p95_ms: pct(0.95),
        p99_ms: pct(0.99),
        avg_ms: if has { times.average_ms() } else { 0.0 },
        max_ms: ms(times.maximum_time_us),
        seconds,
    }
}

fn merge(
    into: &mut GooseRequestMetricTimingData,
    buckets: &mut TimeBuckets,
    other: &GooseRequestMetricTimingData,
) {
    for (bucket, count) in other.times_us.iter() {
        let had = buckets.get(bucket).copied().unwrap_or(0);
        buckets.insert(*bucket, had + count);
    }
    if other.counter > 0 && (into.counter == 0 || other.minimum_time_us < into.minimum_time_us) {
        into.minimum_time_us = other.minimum_time_us;
    }
    into.maximum_time_us = into.maximum_time_us.max(other.maximum_time_us);
    into.total_time_us += other.total_time_us;
    into.counter += other.counter;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aggregated_figures_of_no_requests_are_zero() {
        let f = aggregated(&GooseMetrics::default());
        assert_eq!(f.requests, 0);
        assert_eq!(f.p95_ms, 0.0);
        assert_eq!(f.rps, 0.0);
    }

    #[test]
    fn merged_timings_keep_totals() {
        let mut a = GooseRequestMetricTimingData::default();
        a.times_us.insert(1000, 3);
        a.counter = 3;
        a.total_time_us = 3000;
        a.minimum_time_us = 1000;
        a.maximum_time_us = 1000;
        let mut into = GooseRequestMetricTimingData::default();
        let mut buckets = TimeBuckets::new();
        merge(&mut into, &mut buckets, &a);
        merge(&mut into, &mut buckets, &a);
        assert_eq!(into.counter, 6);
        assert_eq!(buckets.get(&1000), Some(&6));
        into.times_us = buckets;
        let f = figures_of(&into, 6, 0, 2);
        assert_eq!(f.rps, 3.0);
        assert!((f.p50_ms - 1.0).abs() < 0.1, "{f:?}");
    }
}
