//! Provenance of a report: which tool, which rules, which code, which date.
//!
//! Takes what the caller found out (the CLI asks git; tests pass fixed values), gives a
//! [`Provenance`]. The date is chosen without ever reading the wall clock, so a report rendered
//! twice from the same inputs is byte-identical: `--date`, else `SOURCE_DATE_EPOCH`, else the
//! scanned commit's date, else "undated".

use serde::Serialize;

/// What every document states about how it was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Provenance {
    /// idflow version.
    pub tool_version: String,
    /// Hash of the active rule pack.
    pub rules_hash: String,
    /// Name of the scanned directory (never an absolute path: reports travel).
    pub scanned: String,
    /// The scanned git commit, or `not a git checkout`.
    pub commit: String,
    /// The working tree had uncommitted changes under the scanned directory.
    pub dirty: bool,
    /// `YYYY-MM-DD` or `undated`.
    pub date: String,
    /// Where the date came from: `--date`, `SOURCE_DATE_EPOCH`, `commit date` or `none`.
    pub date_source: String,
    /// The declarations file used, relative to the scanned root when inside it, or `none`.
    pub declarations: String,
}

/// What the caller knows; [`Provenance::resolve`] picks the date.
#[derive(Debug, Clone, Default)]
pub struct ProvenanceInput {
    /// Name of the scanned directory.
    pub scanned: String,
    /// `git rev-parse HEAD` in the scanned directory.
    pub commit: Option<String>,
    /// `git log -1 --format=%cs` (committer date, `YYYY-MM-DD`).
    pub commit_date: Option<String>,
    /// Uncommitted changes under the scanned directory.
    pub dirty: bool,
    /// `--date`.
    pub date: Option<String>,
    /// The `SOURCE_DATE_EPOCH` environment variable, as given.
    pub source_date_epoch: Option<String>,
    /// The declarations file, as it should be named in the report.
    pub declarations: Option<String>,
}

/// A date that is not `YYYY-MM-DD` or an epoch that is not a number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DateError {
    /// `--date` is not a calendar date.
    #[error("invalid date `{0}`: expected YYYY-MM-DD")]
    BadDate(String),
    /// `SOURCE_DATE_EPOCH` is not a number of seconds.
    #[error("invalid SOURCE_DATE_EPOCH `{0}`: expected seconds since 1970-01-01")]
    BadEpoch(String),
}

impl Provenance {
    /// Picks the date and fills in the rest.
    ///
    /// # Errors
    /// A malformed `--date` or `SOURCE_DATE_EPOCH`.
    pub fn resolve(
        input: &ProvenanceInput,
        tool_version: &str,
        rules_hash: &str,
    ) -> Result<Provenance, DateError> {
        let (date, date_source) = if let Some(date) = &input.date {
            if !is_date(date) {
                return Err(DateError::BadDate(date.clone()));
            }
            (date.clone(), "--date")
        } else if let Some(epoch) = input.source_date_epoch.as_deref().filter(|e| !e.is_empty()) {
            let secs: i64 = epoch
                .trim()
                .parse()
                .map_err(|_| DateError::BadEpoch(epoch.to_string()))?;
            (date_from_epoch(secs), "SOURCE_DATE_EPOCH")
        } else if let Some(date) = input.commit_date.as_ref().filter(|d| is_date(d)) {
            (date.clone(), "commit date")
        } else {
            ("undated".to_string(), "none")
        };
        Ok(Provenance {
            tool_version: tool_version.to_string(),
            rules_hash: rules_hash.to_string(),
            scanned: input.scanned.clone(),
            commit: input
                .commit
                .clone()
                .unwrap_or_else(|| "not a git checkout".to_string()),
            dirty: input.dirty,
            date,
            date_source: date_source.to_string(),
            declarations: input
                .declarations
                .clone()
                .unwrap_or_else(|| "none".to_string()),
        })
    }
}

/// True for a valid `YYYY-MM-DD` calendar date.
#[must_use]
pub fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let num = |r: std::ops::Range<usize>| s[r].parse::<u32>().ok();
    let (Some(y), Some(m), Some(d)) = (num(0..4), num(5..7), num(8..10)) else {
        return false;
    };
    // Digits only: `str::parse` also takes a sign (`2026-+1-+1`).
    let digits = b
        .iter()
        .enumerate()
        .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !digits || !(1..=12).contains(&m) {
        return false;
    }
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    (1..=days[(m - 1) as usize]).contains(&d)
}

/// The UTC calendar date of `secs` since the Unix epoch (Howard Hinnant's `civil_from_days`).
#[must_use]
pub fn date_from_epoch(secs: i64) -> String {
    let z = secs.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Epoch seconds convert to the right UTC date, including leap days.
    /// Issue 15, item 16: a signed month or day is not a date.
    #[test]
    fn issue_15_signed_fields_are_not_dates() {
        assert!(is_date("2026-01-01"));
        assert!(!is_date("2026-+1-+1"));
        assert!(!is_date("+026-01-01"));
        assert!(!is_date("2026-01-+1"));
    }

    #[test]
    fn epoch_dates() {
        assert_eq!(date_from_epoch(0), "1970-01-01");
        assert_eq!(date_from_epoch(1_767_225_600), "2026-01-01");
        assert_eq!(date_from_epoch(951_782_400), "2000-02-29");
    }

    /// `--date` beats `SOURCE_DATE_EPOCH`, which beats the commit date; nothing means "undated".
    #[test]
    fn date_precedence() {
        let mut input = ProvenanceInput {
            commit_date: Some("2025-05-05".into()),
            source_date_epoch: Some("0".into()),
            date: Some("2026-01-01".into()),
            ..ProvenanceInput::default()
        };
        let p = |i: &ProvenanceInput| Provenance::resolve(i, "0", "h").expect("valid");
        assert_eq!(p(&input).date, "2026-01-01");
        input.date = None;
        assert_eq!(p(&input).date, "1970-01-01");
        input.source_date_epoch = None;
        assert_eq!(p(&input).date, "2025-05-05");
        input.commit_date = None;
        assert_eq!(p(&input).date, "undated");
        assert_eq!(p(&input).commit, "not a git checkout");
        input.date = Some("2026-02-30".into());
        assert!(Provenance::resolve(&input, "0", "h").is_err());
    }
}
