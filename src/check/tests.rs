//! The checker's judgements on hand-written histories: serial ones, and
//! (`real_time`) overlapping operations on one session.

use super::*;

fn state_with(version: u64, now: Instant) -> SessionState {
    let mut s = SessionState::default();
    for _ in 0..version {
        let v = s.begin_write(now, Duration::from_secs(600));
        s.write_acked(v, now);
    }
    s
}

fn val(v: u64) -> String {
    value::encode(1, v, 40)
}

fn check(s: &mut SessionState, observed: Option<&str>, now: Instant) -> ReadCheck {
    judge(s, observed, now).check
}

fn at(now: Instant) -> Judged {
    Judged {
        at: now,
        fault: None,
    }
}

#[test]
fn classifies_reads() {
    let now = Instant::now();
    let mut s = state_with(3, now);
    assert_eq!(check(&mut s, Some(&val(3)), now), ReadCheck::Durable);
    assert_eq!(check(&mut s, Some(&val(2)), now), ReadCheck::Stale);
    assert_eq!(check(&mut s, None, now), ReadCheck::Lost);
    assert_eq!(check(&mut s, Some("not ours"), now), ReadCheck::Lost);
    assert_eq!(check(&mut s, Some(&val(9)), now), ReadCheck::Lost);
    s.begin_delete(now);
    s.delete_acked(now);
    assert_eq!(check(&mut s, None, now), ReadCheck::Nothing);
    assert_eq!(check(&mut s, Some(&val(3)), now), ReadCheck::Resurrected);
}

#[test]
fn an_uncertain_write_that_landed_is_indeterminate_not_lost_and_adopted() {
    let now = Instant::now();
    let mut s = state_with(3, now);
    let v = s.begin_write(now, Duration::from_secs(600));
    assert_eq!(v, 4);
    assert_eq!(check(&mut s, Some(&val(4)), now), ReadCheck::Indeterminate);
    assert_eq!(s.acked_version(), Some(4));
    assert_eq!(check(&mut s, Some(&val(4)), now), ReadCheck::Durable);
}

/// Issue 15: a store that rolls back to an older version whose write
/// had failed (its answer lost) used to be given the benefit of the
/// doubt — the failed write "landed late" — and adopted over the newer
/// acknowledged one, so the loss was never counted.
#[test]
fn a_rollback_to_an_older_failed_write_is_stale_and_its_successors_lost() {
    let now = Instant::now();
    let mut s = SessionState::default();
    let ttl = Duration::from_secs(600);
    let v1 = s.begin_write(now, ttl);
    s.write_acked(v1, now);
    // v2 times out (it did reach the store), v3 is acknowledged, then
    // the store loses v3 and holds v2.
    let v2 = s.begin_write(now, ttl);
    s.write_failed(v2);
    let v3 = s.begin_write(now, ttl);
    s.write_acked(v3, now);
    let r = judge(&mut s, Some(&val(2)), now);
    assert_eq!(r.check, ReadCheck::Stale);
    assert_eq!(s.acked_version(), Some(3), "not adopted");
    let t = judge_writes(&mut s, &r, None, at(now));
    assert_eq!((t.lost, t.durable), (1, 1), "v3 lost, v1 superseded");
}

/// Issue 15: a delete that failed before a write was acknowledged used
/// to explain that write's absence for 60 s (indeterminate, not lost).
#[test]
fn a_failed_delete_before_an_acknowledged_write_does_not_explain_its_loss() {
    let now = Instant::now();
    let mut s = state_with(2, now);
    s.begin_delete(now);
    s.delete_failed();
    let v = s.begin_write(now, Duration::from_secs(600));
    s.write_acked(v, now);
    let r = judge(&mut s, None, now);
    assert_eq!(r.check, ReadCheck::Lost);
    let t = judge_writes(&mut s, &r, None, at(now));
    assert_eq!(t.lost, 3, "every acknowledged write is gone");
}

#[test]
fn a_failed_delete_after_the_last_write_makes_its_absence_indeterminate() {
    let now = Instant::now();
    let mut s = state_with(2, now);
    s.begin_delete(now);
    // A live read (no write judgement) finds it gone: the delete landed.
    assert_eq!(check(&mut s, None, now), ReadCheck::Indeterminate);
    let r = judge(&mut s, None, now);
    assert_eq!(r.check, ReadCheck::Nothing);
    let t = judge_writes(&mut s, &r, None, at(now));
    assert_eq!(
        t,
        WriteTally::default(),
        "judged when the delete was adopted"
    );
    let fates: Vec<Fate> = s.writes.iter().map(|w| w.fate).collect();
    assert_eq!(fates, [Fate::Indeterminate, Fate::Indeterminate]);
}

/// Review of issue 15: an expired write stayed open to judgement and
/// was counted lost when a later write of the session was.
#[test]
fn an_expired_write_stays_expired() {
    let now = Instant::now();
    let mut s = SessionState::default();
    let v1 = s.begin_write(now, Duration::from_secs(1));
    s.write_acked(v1, now);
    let r = judge(&mut s, None, now);
    assert_eq!(judge_writes(&mut s, &r, None, at(now)).expired, 1);
    let v2 = s.begin_write(now, Duration::from_secs(600));
    s.write_acked(v2, now);
    let r = judge(&mut s, None, now);
    let t = judge_writes(&mut s, &r, None, at(now));
    assert_eq!((t.lost, t.expired), (1, 0), "v2 lost, v1 still expired");
}

#[test]
fn writes_a_sweep_could_not_read_are_unverified_again() {
    let now = Instant::now();
    let mut s = state_with(3, now);
    let r = judge(&mut s, Some(&val(1)), now);
    judge_writes(&mut s, &r, None, at(now));
    // 2 and 3 lost (final); 1 durable, but unread at the end.
    assert_eq!(unverify(&mut s), 1);
    assert_eq!(s.writes[0].fate, Fate::Unjudged);
    assert_eq!(s.writes[2].fate, Fate::Lost);
}

#[test]
fn expiring_sessions_are_not_judged() {
    let now = Instant::now();
    let mut s = SessionState::default();
    let v = s.begin_write(now, Duration::from_secs(1));
    s.write_acked(v, now);
    let r = judge(&mut s, None, now);
    assert_eq!(r.check, ReadCheck::Nothing);
    assert_eq!(judge_writes(&mut s, &r, None, at(now)).expired, 1);
}

/// The point of judging writes: a write found lost by a checkpoint stays
/// lost after later load rewrites the session, and each write is
/// counted once.
#[test]
fn a_lost_write_stays_lost_after_the_session_is_rewritten() {
    let now = Instant::now();
    let ttl = Duration::from_secs(600);
    let mut s = state_with(5, now);
    // A checkpoint after a power loss finds version 2: 3, 4, 5 lost.
    let r = judge(&mut s, Some(&val(2)), now);
    let t = judge_writes(&mut s, &r, None, at(now));
    assert_eq!((t.lost, t.durable), (3, 2));
    // The load writes version 6 over it; the final sweep reads 6.
    let v6 = s.begin_write(now, ttl);
    s.write_acked(v6, now);
    let r = judge(&mut s, Some(&val(6)), now);
    assert_eq!(r.check, ReadCheck::Durable);
    let t = judge_writes(&mut s, &r, None, at(now));
    assert_eq!((t.lost, t.durable), (0, 1), "only v6 is new");
    let lost = s.writes.iter().filter(|w| w.fate == Fate::Lost).count();
    assert_eq!(lost, 3);
}

#[test]
fn a_rollback_past_an_earlier_sweep_loses_what_it_had_seen() {
    let now = Instant::now();
    let mut s = state_with(4, now);
    let r = judge(&mut s, Some(&val(4)), now);
    assert_eq!(judge_writes(&mut s, &r, None, at(now)).durable, 4);
    // An RDB restore takes the session back to version 1.
    let r = judge(&mut s, Some(&val(1)), now);
    let t = judge_writes(&mut s, &r, None, at(now));
    assert_eq!((t.lost, t.durable), (3, 0));
}

#[test]
fn writes_the_store_of_record_holds_behind_a_stale_cache_are_stale_not_lost() {
    let now = Instant::now();
    let mut s = state_with(5, now);
    // The cache serves version 2; the store of record has 4 (5 is gone).
    let r = judge(&mut s, Some(&val(2)), now);
    let t = judge_writes(&mut s, &r, Some(Some(4)), at(now));
    assert_eq!((t.stale, t.lost, t.durable), (2, 1, 2));
    // Later the store of record has lost them too: stale becomes lost.
    let r = judge(&mut s, Some(&val(2)), now);
    let t = judge_writes(&mut s, &r, Some(None), at(now));
    assert_eq!((t.stale, t.lost), (0, 2));
}

#[test]
fn deleted_writes_are_not_lost_when_the_store_rolls_back_past_the_delete() {
    let now = Instant::now();
    let ttl = Duration::from_secs(600);
    let mut s = state_with(2, now);
    s.begin_delete(now);
    s.delete_acked(now);
    let v3 = s.begin_write(now, ttl);
    s.write_acked(v3, now);
    let r = judge(&mut s, Some(&val(1)), now);
    assert_eq!(r.check, ReadCheck::Stale);
    let t = judge_writes(&mut s, &r, None, at(now));
    assert_eq!((t.lost, t.durable), (1, 2), "only v3 was lost");
}

/// Concurrency per session (issue 17): histories of overlapping
/// operations, each rule against the serial judgement it relaxes.
mod real_time {
    use super::*;

    const TTL: Duration = Duration::from_secs(600);

    fn t(base: Instant, ms: u64) -> Instant {
        base + Duration::from_millis(ms)
    }

    /// w1 [0, 10] and w2 [5, 20]: two writes that overlap.
    fn overlapping_pair(b: Instant) -> SessionState {
        let mut s = SessionState::default();
        let v1 = s.begin_write(t(b, 0), TTL);
        let v2 = s.begin_write(t(b, 5), TTL);
        s.write_acked(v1, t(b, 10));
        s.write_acked(v2, t(b, 20));
        s
    }

    /// w1 [0, 10] and w2 [5, 20] overlap: a read after both may find
    /// either; a serial judgement would call v1 stale.
    #[test]
    fn concurrent_writes_may_land_in_either_order() {
        let b = Instant::now();
        let mut s = overlapping_pair(b);
        let r = judge_concurrent(&mut s, Some(&val(1)), t(b, 30), t(b, 31));
        assert_eq!(r.check, ReadCheck::Durable);
        assert_eq!(
            judge_concurrent(&mut s.clone(), Some(&val(2)), t(b, 30), t(b, 31)).check,
            ReadCheck::Durable
        );
        // Nor is v2 lost when a sweep finds v1: v2 was sent before v1 landed.
        let tally = judge_writes(&mut s, &r, None, at(t(b, 31)));
        assert_eq!((tally.lost, tally.durable), (0, 2));
        let mut serial = s.clone();
        assert_eq!(
            check(&mut serial, Some(&val(1)), t(b, 31)),
            ReadCheck::Stale
        );
    }

    /// w1 [0, 10] and w2 [5, 20] overlap; a read [25, 26] finds v2: v2 was
    /// the last write before it, so w1 (acknowledged before that read was
    /// sent) came before v2. A read sent after that one was answered may
    /// not find v1 again: the session stepped back (two copies written in
    /// different orders, one of them lost). Had the first read been sent
    /// before w1 was acknowledged, w1 could have landed after it.
    #[test]
    fn a_version_seen_overwritten_may_not_come_back() {
        let b = Instant::now();
        let mut s = overlapping_pair(b);
        let mut early = s.clone();
        assert_eq!(
            judge_concurrent(&mut s, Some(&val(2)), t(b, 25), t(b, 26)).check,
            ReadCheck::Durable
        );
        let mut swept = s.clone();
        let back = judge_concurrent(&mut swept, Some(&val(1)), t(b, 30), t(b, 31));
        assert_eq!(back.check, ReadCheck::Stale);
        // v2 was seen after v1 landed: v1 did not overwrite it
        // legitimately, and it is gone.
        let tally = judge_writes(&mut swept, &back, None, at(t(b, 31)));
        assert_eq!((tally.lost, tally.durable), (1, 1), "{:?}", swept.writes);
        // Sent before the first read was answered: it may have come first.
        assert_eq!(
            judge_concurrent(&mut s.clone(), Some(&val(1)), t(b, 25), t(b, 27)).check,
            ReadCheck::Durable
        );
        // The first read sent at 8, before w1 was acknowledged.
        judge_concurrent(&mut early, Some(&val(2)), t(b, 8), t(b, 21));
        assert_eq!(
            judge_concurrent(&mut early, Some(&val(1)), t(b, 30), t(b, 31)).check,
            ReadCheck::Durable
        );
    }

    /// A read before a fault only remembers: a failed write found in a
    /// cache is not adopted (the store of record may hold another), an
    /// illegal version judges nothing, and a legal one holds later reads
    /// to it as a load read's would.
    #[test]
    fn a_read_first_remembers_what_it_saw_and_changes_nothing_else() {
        let b = Instant::now();
        let mut s = overlapping_pair(b);
        // A write sent at 22 failed (its answer lost): it may have landed.
        let v3 = s.begin_write(t(b, 22), TTL);
        s.write_failed(v3);
        let before = format!("{:?}", (&s.writes, &s.uncertain, s.acked));
        assert_eq!(
            remember_read(&mut s, Some(&val(3)), t(b, 25), t(b, 26)),
            ReadCheck::Indeterminate
        );
        assert_eq!(before, format!("{:?}", (&s.writes, &s.uncertain, s.acked)));
        assert_eq!(s.acked_version(), Some(2), "not adopted");
        // Seen, as a load read's would be.
        assert_eq!(s.observed.len(), 1);
        // Not a legal version (nothing, although v2 is owed): forgotten.
        assert_eq!(
            remember_read(&mut s, None, t(b, 27), t(b, 28)),
            ReadCheck::Lost
        );
        assert_eq!(s.observed.len(), 1, "{:?}", s.observed);
        assert!(s.writes.iter().all(|w| w.fate == Fate::Unjudged));
        // v2 seen: v1 may not come back.
        assert_eq!(
            remember_read(&mut s, Some(&val(2)), t(b, 29), t(b, 30)),
            ReadCheck::Durable
        );
        assert_eq!(s.observed.len(), 2);
        assert_eq!(before, format!("{:?}", (&s.writes, &s.uncertain, s.acked)));
        let back = judge_concurrent(&mut s.clone(), Some(&val(1)), t(b, 40), t(b, 41));
        assert_eq!(back.check, ReadCheck::Stale);
        // Unseen, v1 could have come back.
        let mut unseen = overlapping_pair(b);
        assert_eq!(
            judge_concurrent(&mut unseen, Some(&val(1)), t(b, 40), t(b, 41)).check,
            ReadCheck::Durable
        );
    }

    /// w1 [0, 10], then w2 [20, 30] strictly after it: a read sent at
    /// 40 that finds v1 is stale, and a sweep that finds v1 has lost v2.
    #[test]
    fn a_write_overwritten_before_the_read_was_sent_is_stale() {
        let b = Instant::now();
        let mut s = SessionState::default();
        let v1 = s.begin_write(t(b, 0), TTL);
        s.write_acked(v1, t(b, 10));
        let v2 = s.begin_write(t(b, 20), TTL);
        s.write_acked(v2, t(b, 30));
        let r = judge_concurrent(&mut s, Some(&val(1)), t(b, 40), t(b, 41));
        assert_eq!(r.check, ReadCheck::Stale);
        let tally = judge_writes(&mut s, &r, None, at(t(b, 41)));
        assert_eq!((tally.lost, tally.durable), (1, 1));
    }

    /// A read sent at 15 while w2 [12, 30] is in flight may find v1 (the
    /// read came first) or v2 (it landed before its answer came back).
    #[test]
    fn a_read_overlapping_a_write_may_find_either() {
        let b = Instant::now();
        let mut s = SessionState::default();
        let v1 = s.begin_write(t(b, 0), TTL);
        s.write_acked(v1, t(b, 10));
        let v2 = s.begin_write(t(b, 12), TTL);
        let early = judge_concurrent(&mut s.clone(), Some(&val(1)), t(b, 15), t(b, 25));
        assert_eq!(early.check, ReadCheck::Durable);
        let landed = judge_concurrent(&mut s, Some(&val(2)), t(b, 15), t(b, 25));
        assert_eq!(landed.check, ReadCheck::Durable);
        assert_eq!(s.acked_version(), Some(1), "in flight is not adopted");
        s.write_acked(v2, t(b, 30));
        // Sent after v2 was acknowledged, v1 is stale.
        let late = judge_concurrent(&mut s, Some(&val(1)), t(b, 35), t(b, 36));
        assert_eq!(late.check, ReadCheck::Stale);
        // The first write of a session, still in flight: nothing is legal.
        let mut fresh = SessionState::default();
        fresh.begin_write(t(b, 0), TTL);
        assert_eq!(
            judge_concurrent(&mut fresh, None, t(b, 1), t(b, 2)).check,
            ReadCheck::Nothing
        );
    }

    /// A write that timed out may land late: found, it is indeterminate
    /// and adopted, as in a serial run — not the benefit the doubt of a
    /// write still in flight gets.
    #[test]
    fn a_timed_out_write_that_lands_late_is_indeterminate() {
        let b = Instant::now();
        let mut s = SessionState::default();
        let v1 = s.begin_write(t(b, 0), TTL);
        s.write_acked(v1, t(b, 10));
        let v2 = s.begin_write(t(b, 20), TTL);
        s.write_failed(v2);
        let r = judge_concurrent(&mut s, Some(&val(2)), t(b, 1040), t(b, 1041));
        assert_eq!(r.check, ReadCheck::Indeterminate);
        assert_eq!(s.acked_version(), Some(2), "adopted");
        // And a version never sent is lost, overlap or not.
        assert_eq!(
            judge_concurrent(&mut s, Some(&val(9)), t(b, 1050), t(b, 1051)).check,
            ReadCheck::Lost
        );
    }

    /// w1 acknowledged, then a delete [20, 40] races w2 [30, 50]: either
    /// may have come last, so nothing and v2 are both legal; a serial
    /// judgement calls nothing lost.
    #[test]
    fn a_delete_racing_a_write_may_win_or_lose() {
        let b = Instant::now();
        let mut s = SessionState::default();
        let v1 = s.begin_write(t(b, 0), TTL);
        s.write_acked(v1, t(b, 10));
        s.begin_delete(t(b, 20));
        let v2 = s.begin_write(t(b, 30), TTL);
        s.delete_acked(t(b, 40));
        s.write_acked(v2, t(b, 50));
        assert_eq!(s.acked_version(), Some(2));
        let mut swept = s.clone();
        let gone = judge_concurrent(&mut swept, None, t(b, 60), t(b, 61));
        assert_eq!(gone.check, ReadCheck::Nothing);
        // A sweep that finds nothing does not condemn v2 either.
        let tally = judge_writes(&mut swept, &gone, None, at(t(b, 61)));
        assert_eq!(tally.lost, 0, "{tally:?}");
        let kept = judge_concurrent(&mut s.clone(), Some(&val(2)), t(b, 60), t(b, 61));
        assert_eq!(kept.check, ReadCheck::Durable);
        assert_eq!(check(&mut s.clone(), None, t(b, 61)), ReadCheck::Lost);
        // A write acknowledged before the delete was sent and found
        // after it is resurrected, overlap or not.
        let mut r = SessionState::default();
        let v1 = r.begin_write(t(b, 0), TTL);
        r.write_acked(v1, t(b, 10));
        r.begin_delete(t(b, 20));
        r.delete_acked(t(b, 30));
        let back = judge_concurrent(&mut r, Some(&val(1)), t(b, 40), t(b, 41));
        assert_eq!(back.check, ReadCheck::Resurrected);
    }

    /// A delete in flight may have landed: nothing is legal, and
    /// nothing is adopted (its writes are not made indeterminate) until
    /// its answer comes; one that failed is adopted as before.
    #[test]
    fn a_delete_in_flight_may_have_landed() {
        let b = Instant::now();
        let mut s = SessionState::default();
        let v1 = s.begin_write(t(b, 0), TTL);
        s.write_acked(v1, t(b, 10));
        let through = s.begin_delete(t(b, 20));
        let r = judge_concurrent(&mut s, None, t(b, 25), t(b, 26));
        assert_eq!(r.check, ReadCheck::Nothing);
        assert_eq!(s.writes[0].fate, Fate::Unjudged, "not adopted");
        assert_eq!(s.acked_version(), Some(1));
        s.delete_acked_through(t(b, 30), through);
        assert_eq!(s.deleted_through, 1);
        // Failed instead: adopted, its writes indeterminate.
        let mut f = SessionState::default();
        let v1 = f.begin_write(t(b, 0), TTL);
        f.write_acked(v1, t(b, 10));
        f.begin_delete(t(b, 20));
        f.delete_failed();
        let r = judge_concurrent(&mut f, None, t(b, 1025), t(b, 1026));
        assert_eq!(r.check, ReadCheck::Indeterminate);
        assert_eq!(f.writes[0].fate, Fate::Indeterminate);
    }

    /// w1 sent at 0 and still in flight when w2 [5, 10] is
    /// acknowledged; w1 lands late and times out at 1000. Found later,
    /// it is indeterminate, not adopted over w2, and w2 is not lost.
    #[test]
    fn a_failed_write_sent_before_a_newer_one_was_acknowledged_may_land_last() {
        let b = Instant::now();
        let mut s = SessionState::default();
        let v1 = s.begin_write(t(b, 0), TTL);
        let v2 = s.begin_write(t(b, 5), TTL);
        s.write_acked(v2, t(b, 10));
        s.write_failed(v1);
        let r = judge_concurrent(&mut s, Some(&val(1)), t(b, 1100), t(b, 1101));
        assert_eq!(r.check, ReadCheck::Indeterminate);
        assert_eq!(s.acked_version(), Some(2), "not adopted over v2");
        let tally = judge_writes(&mut s, &r, None, at(t(b, 1101)));
        assert_eq!((tally.lost, tally.durable), (0, 1), "{tally:?}");
    }

    /// w1 [0, 10] and w2 [5, 15] overlap, w3 [20, 30] follows; the
    /// store rolls back to v1. v1 is stale, w3 is lost, but w2 may have
    /// been overwritten by w1 legitimately: not lost.
    #[test]
    fn a_rollback_condemns_only_what_came_after_the_version_found() {
        let b = Instant::now();
        let mut s = SessionState::default();
        let v1 = s.begin_write(t(b, 0), TTL);
        let v2 = s.begin_write(t(b, 5), TTL);
        s.write_acked(v1, t(b, 10));
        s.write_acked(v2, t(b, 15));
        let v3 = s.begin_write(t(b, 20), TTL);
        s.write_acked(v3, t(b, 30));
        let r = judge_concurrent(&mut s, Some(&val(1)), t(b, 40), t(b, 41));
        assert_eq!(r.check, ReadCheck::Stale);
        let tally = judge_writes(&mut s, &r, None, at(t(b, 41)));
        assert_eq!((tally.lost, tally.durable), (1, 2), "{tally:?}");
    }

    /// Without overlap the real-time judgement is the serial one.
    #[test]
    fn serial_histories_are_judged_alike() {
        let b = Instant::now();
        let mut s = SessionState::default();
        for i in 0..3u64 {
            let v = s.begin_write(t(b, i * 20), TTL);
            s.write_acked(v, t(b, i * 20 + 10));
        }
        for seen in [
            Some(val(1)),
            Some(val(2)),
            Some(val(3)),
            None,
            Some("x".into()),
        ] {
            let serial = judge(&mut s.clone(), seen.as_deref(), t(b, 100)).check;
            let rt = judge_concurrent(&mut s.clone(), seen.as_deref(), t(b, 90), t(b, 100)).check;
            assert_eq!(serial, rt, "{seen:?}");
        }
    }
}
