//! Properties of the shard arithmetic (`load --shard I/N`): shares add up, differ by at most
//! one, and the global user numbers of all shards are 1..=users, each once.

use proptest::prelude::*;
use recovery_harness::load::shard::{parse_shard, start_delay, ShardSpec, MAX_START_DELAY};

proptest! {
    #[test]
    fn shares_add_up_and_differ_by_at_most_one(count in 1usize..=64, total in 0usize..10_000) {
        let shares: Vec<usize> = (0..count)
            .map(|i| ShardSpec::new(i, count).unwrap().share(total))
            .collect();
        prop_assert_eq!(shares.iter().sum::<usize>(), total);
        let (min, max) = (shares.iter().min().unwrap(), shares.iter().max().unwrap());
        prop_assert!(max - min <= 1);
        // The remainder goes to the first shards.
        prop_assert!(shares.windows(2).all(|w| w[0] >= w[1]));
    }

    #[test]
    fn offsets_are_the_shares_before(count in 1usize..=64, total in 0usize..10_000) {
        let mut before = 0;
        for i in 0..count {
            let s = ShardSpec::new(i, count).unwrap();
            prop_assert_eq!(s.offset(total), before);
            before += s.share(total);
        }
    }

    #[test]
    fn global_user_numbers_are_unique_and_dense(count in 1usize..=32, extra in 0usize..500) {
        let users = count + extra;
        let mut seen = vec![false; users + 1];
        for i in 0..count {
            let s = ShardSpec::new(i, count).unwrap();
            for local in 0..s.users(users).unwrap() {
                let g = s.global_user(users, local);
                prop_assert!((1..=users).contains(&g), "{} out of 1..={}", g, users);
                prop_assert!(!seen[g], "user {} twice", g);
                seen[g] = true;
            }
        }
        prop_assert!(seen[1..].iter().all(|&b| b));
    }

    #[test]
    fn every_shard_ramps_up_in_the_same_time(count in 1usize..=32, extra in 0usize..500, rate in 0.5f64..500.0) {
        let users = count + extra;
        let ramp = users as f64 / rate;
        for i in 0..count {
            let s = ShardSpec::new(i, count).unwrap();
            let u = s.users(users).unwrap();
            let r = s.hatch_rate(rate, u, users);
            prop_assert!((u as f64 / r - ramp).abs() < 1e-6 * ramp.max(1.0));
        }
    }

    #[test]
    fn throttle_shares_add_up(count in 1usize..=64, extra in 0usize..100_000) {
        let total = count + extra;
        let sum: usize = (0..count)
            .map(|i| ShardSpec::new(i, count).unwrap().throttle(Some(total)).unwrap().unwrap())
            .sum();
        prop_assert_eq!(sum, total);
    }

    #[test]
    fn fewer_users_than_shards_is_an_error(count in 2usize..=64, users in 0usize..64) {
        prop_assume!(users < count);
        prop_assert!(ShardSpec::new(0, count).unwrap().users(users).is_err());
    }

    #[test]
    fn shard_text_round_trips(count in 1usize..=1000, index in 0usize..1000) {
        let parsed = parse_shard(&format!("{index}/{count}"));
        if index < count {
            prop_assert_eq!(parsed, Ok((index, count)));
        } else {
            prop_assert!(parsed.is_err());
        }
    }

    #[test]
    fn start_at_window(offset_s in -7200i64..7200) {
        let now = chrono::Utc::now();
        let at = now + chrono::TimeDelta::seconds(offset_s);
        let r = start_delay(at, now);
        if offset_s < 0 || offset_s as u64 > MAX_START_DELAY.as_secs() {
            prop_assert!(r.is_err());
        } else {
            prop_assert_eq!(r.unwrap().as_secs(), offset_s as u64);
        }
    }
}
