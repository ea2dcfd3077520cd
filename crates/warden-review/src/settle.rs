//! One question settled: the router's route and, where it says to ask the reviewer
//! model, the review and the route that follows from what it said. Sessions and the
//! corpus evaluation both go through here, so what a corpus measures is what runs.

use warden_policy::router::{Question, Route, route};

use crate::action::Action;
use crate::prompt::Context;
use crate::reviewer::{Review, Reviewer};

/// Route `question`; ask `reviewer` when the route says so (its `Err` says why there is
/// no reviewer: the review is then unavailable, and the person decides).
pub async fn settle(
    mut question: Question,
    reviewer: Result<&Reviewer, &str>,
    action: &Action,
    context: impl FnOnce() -> Context,
    key: &str,
) -> (Route, Option<Review>) {
    let first = route(&question);
    if first != Route::Review {
        return (first, None);
    }
    let review = match reviewer {
        Ok(reviewer) => reviewer.review(action, &context(), key).await,
        Err(why) => Review::unavailable("", why),
    };
    question.review = Some(review.router_said());
    (route(&question), Some(review))
}
