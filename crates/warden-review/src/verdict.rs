//! The reviewer's verdict: one strict JSON object, nothing else. Unknown or duplicate
//! fields, a value outside its list, an empty or overlong rationale, or any text around
//! the object make it invalid.

use serde::{Deserialize, Serialize};

pub use warden_protocol::{
    ReviewOutcome as Outcome, ReviewRisk as Risk, UserAuthorized as Authorized,
};

/// What the reviewer decided, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Verdict {
    pub outcome: Outcome,
    pub risk: Risk,
    pub user_authorized: Authorized,
    pub rationale: String,
}

/// The longest rationale accepted.
const MAX_RATIONALE: usize = 600;

/// Parse the reviewer's answer; the error says what is wrong with it.
pub fn parse(text: &str) -> Result<Verdict, String> {
    let trimmed = text.trim();
    if !(trimmed.starts_with('{') && trimmed.ends_with('}')) {
        return Err(format!("not a JSON object alone: {}", preview(trimmed)));
    }
    // serde refuses unknown and duplicate fields, wrong values, and trailing text.
    let verdict: Verdict = serde_json::from_str(trimmed).map_err(|e| e.to_string())?;
    let rationale = verdict.rationale.trim();
    if rationale.is_empty() {
        return Err("the rationale is empty".into());
    }
    if rationale.chars().count() > MAX_RATIONALE {
        return Err(format!(
            "the rationale is longer than {MAX_RATIONALE} characters"
        ));
    }
    Ok(Verdict {
        rationale: rationale.to_string(),
        ..verdict
    })
}

fn preview(text: &str) -> String {
    let p: String = text.chars().take(80).collect();
    if p.len() < text.len() {
        format!("{p}…")
    } else {
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{"outcome":"approve","risk":"low","user_authorized":"yes","rationale":"runs the tests the person asked for"}"#;

    #[test]
    fn only_one_exact_object_is_a_verdict() {
        let v = parse(&format!("  {GOOD}\n")).unwrap();
        assert_eq!(
            (v.outcome, v.risk, v.user_authorized),
            (Outcome::Approve, Risk::Low, Authorized::Yes)
        );
        for (bad, says) in [
            (format!("Sure! {GOOD}"), "not a JSON object alone"),
            (format!("```json\n{GOOD}\n```"), "not a JSON object alone"),
            (
                GOOD.replace("\"low\"", "\"tiny\""),
                "unknown variant `tiny`",
            ),
            (GOOD.replace("}", ",\"extra\":1}"), "unknown field `extra`"),
            (
                GOOD.replace(
                    "{\"outcome\":\"approve\",",
                    "{\"outcome\":\"approve\",\"outcome\":\"deny\",",
                ),
                "duplicate field `outcome`",
            ),
            (
                GOOD.replace(",\"rationale\":\"runs the tests the person asked for\"", ""),
                "missing field `rationale`",
            ),
            (
                GOOD.replace("runs the tests the person asked for", "  "),
                "the rationale is empty",
            ),
            (
                GOOD.replace("runs the tests the person asked for", &"x".repeat(700)),
                "longer than",
            ),
            (format!("{GOOD}{GOOD}"), "trailing characters"),
            ("".to_string(), "not a JSON object alone"),
        ] {
            let e = parse(&bad).unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }
}
