//! Blameless-language check: flags phrasings in a post-incident review that
//! read as blame or hindsight, explains why, and suggests a neutral pattern.
//!
//! It advises, it never blocks: [`check`] returns [`Finding`]s for the
//! editor to underline, [`summary`] a one-line advisory. Nothing here
//! rejects a text.
//!
//! # What is flagged
//!
//! - [`Category::Counterfactual`] — what did *not* happen: "should have"
//!   ("should've", "shouldn't have", "should not have"), "could have",
//!   "would have" (same forms), "ought to have", "if only", "failed to",
//!   "neglected to".
//! - [`Category::Blame`] — the cause placed in a person: "human error",
//!   "operator error", character words ("careless", "negligent",
//!   "negligence", "sloppy", "lazy", "incompetent", "reckless",
//!   "irresponsible", "complacent" and their -ly/-ness forms), "mistake by",
//!   "made a mistake", "the fault of", "Bob's fault", "his/her/their fault",
//!   "at fault", "fault lies with", "blame"/"blamed"/"blaming",
//!   "should (have) know(n) better", "forgot to", "didn't bother",
//!   "couldn't be bothered".
//! - [`Category::Hindsight`] — "obviously", "was obvious".
//! - [`Category::Minimising`] — "just", "simply", "merely", "all they had to
//!   do": an action made to sound trivial.
//!
//! # How it matches
//!
//! Case-insensitive, whole words only ("blameless" is not "blame",
//! "shouldering" is not "should"), any run of white space between words
//! (line breaks included), and `'`, `’` or `ʼ` as the apostrophe. A word
//! joined by a hyphen is part of a compound and left alone ("blame-free",
//! "just-in-time", "lazy-loaded"). Offsets are byte offsets into the text,
//! always on char boundaries. Findings are ordered by position and never
//! overlap: where two candidate phrases overlap, the longer is reported.
//!
//! # Deliberate exceptions
//!
//! The check is a word list with a little context (the word before and the
//! word after), not a parser; it prefers missing a rare case to nagging about
//! ordinary technical prose:
//!
//! - "could have been" / "would have been" are not flagged: they describe an
//!   alternative *outcome* ("it could have been worse", "the alert would
//!   have been expected to fire"), which is how impact and action items are
//!   reasoned about. "should have been" is still flagged: it judges.
//! - "failed to" is not flagged when the next word is something machines do
//!   ("failed to start", "failed to connect", "failed to renew"): a system
//!   failing is a fact, not a judgement of a person.
//! - "just" is flagged as a minimiser ("just restart it", "it was just a
//!   typo") except where it means *exactly* or *recently*: before "in",
//!   "now", "before", "after", "as", "enough", "under", "over", … ("just in
//!   time", "just before 14:00"), after "had"/"has"/"have" or a `'d`
//!   contraction ("we had just deployed"), after "not" or "only" ("not just
//!   the database", "only just"), and in "a just culture". "simply put" is
//!   not flagged either.
//! - "if only" is not flagged before a number or quantity ("if only one
//!   replica is down").
//! - "lazy" is not flagged before "loading", "evaluation", "initialization"
//!   and similar technical terms; "fault" after a possessive is not flagged
//!   before "tolerance", "domain", "injection", … ("the system's fault
//!   tolerance"); "nobody's fault", "no one's fault" and "it's fault…" are
//!   not flagged. Negated blame ("no blame", "not blaming anyone", "without
//!   blame") is not flagged: that is the blameless stance itself.
//! - "a fault of the controller" (the engineering sense) is not flagged;
//!   only "the fault of" is.

use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

/// What kind of phrasing a [`Finding`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Describes what did not happen ("should have", "failed to").
    Counterfactual,
    /// Places the cause in a person ("human error", "careless", "fault of").
    Blame,
    /// Treats what is known now as if it was known then ("obviously").
    Hindsight,
    /// Makes an action sound trivial ("just restart it", "simply").
    Minimising,
}

impl Category {
    /// Every category, in declaration order.
    pub const ALL: [Category; 4] = [
        Category::Counterfactual,
        Category::Blame,
        Category::Hindsight,
        Category::Minimising,
    ];

    /// The snake_case name, as serialised.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Counterfactual => "counterfactual",
            Category::Blame => "blame",
            Category::Hindsight => "hindsight",
            Category::Minimising => "minimising",
        }
    }
}

/// One flagged phrase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Byte offset of the first byte of the phrase (a char boundary).
    pub start: usize,
    /// Byte offset just past the phrase (a char boundary).
    pub end: usize,
    /// The phrase as written (`&text[start..end]`).
    pub phrase: String,
    pub category: Category,
    /// Why the phrasing hurts learning.
    pub why: &'static str,
    /// A neutral rephrasing pattern.
    pub suggestion: &'static str,
}

/// Finds phrasings that read as blame or hindsight. Advisory: an empty
/// result means nothing was flagged, a non-empty one never means the text
/// may not be saved.
pub fn check(text: &str) -> Vec<Finding> {
    resolve_overlaps(candidates(text))
        .into_iter()
        .map(|c| {
            let rule = &RULES[c.rule];
            Finding {
                start: c.start,
                end: c.end,
                phrase: text[c.start..c.end].to_owned(),
                category: rule.category,
                why: rule.why,
                suggestion: rule.suggestion,
            }
        })
        .collect()
}

/// A one-line advisory for the editor, e.g. "3 phrases may read as blame or
/// hindsight — see the suggestions; saving is not blocked".
pub fn summary(findings: &[Finding]) -> String {
    match findings.len() {
        0 => "No phrases flagged for blame or hindsight".to_owned(),
        1 => "1 phrase may read as blame or hindsight — see the suggestion; \
              saving is not blocked"
            .to_owned(),
        n => format!(
            "{n} phrases may read as blame or hindsight — see the suggestions; \
             saving is not blocked"
        ),
    }
}

// ---------------------------------------------------------------------------
// Texts

const WHY_COUNTERFACTUAL: &str = "\
    Counterfactuals describe what did not happen instead of what did. They judge the \
    past with knowledge nobody had at the time (hindsight bias) and end the inquiry \
    before it explains why the action made sense then.";
const SUGGEST_SHOULD: &str = "\
    Describe what happened and what made that the reasonable choice at the time: 'X did \
    Y because …'.";
const SUGGEST_COULD: &str = "\
    Describe what did happen and what was known then: 'at 14:02 X saw … and did Y'. If \
    an alternative is worth having, record it as an action item ('add Z so that …').";
const SUGGEST_IF_ONLY: &str = "\
    Name the condition that was actually present: 'Z was not in place, so …'.";
const WHY_OMISSION: &str = "\
    'Failed to' and 'neglected to' describe a person by what they did not do and imply a \
    duty they missed; they hide what the person was doing and why it made sense.";
const SUGGEST_OMISSION: &str = "\
    Say what the person was doing and what they were attending to: 'X was handling …; \
    step Y was not done because …'.";

const WHY_HUMAN_ERROR: &str = "\
    'Human error' names a person as the cause and ends the inquiry there; it is where \
    the investigation starts, not where it ends.";
const SUGGEST_HUMAN_ERROR: &str = "\
    Ask what in the system made the action easy to get wrong: 'the tool accepted …; \
    nothing warned that …'.";
const WHY_CHARACTER: &str = "\
    Judging a person's character or effort explains nothing about the system and makes \
    people less willing to say what really happened.";
const SUGGEST_CHARACTER: &str = "\
    Describe the action and the conditions around it (workload, time pressure, tooling, \
    what was known): 'X did Y while …'.";
const WHY_FAULT: &str = "\
    Assigning fault stops the inquiry at a person instead of the system that let the \
    outcome happen.";
const SUGGEST_FAULT: &str = "\
    Name the action and the conditions that contributed: 'the change to X, which no \
    check validated, caused …'.";
const WHY_KNOW_BETTER: &str = "\
    'Should know better' judges with hindsight and assumes knowledge that was evidently \
    not at hand; it also discourages candour.";
const SUGGEST_KNOW_BETTER: &str = "\
    Ask what the person knew at the time and where that knowledge lives: 'X was not \
    aware of Y; Y is documented only in …'.";
const WHY_LAPSE: &str = "\
    Putting an omission down to memory or motivation places the cause inside a person; \
    attention and memory fail routinely, and systems must allow for it.";
const SUGGEST_LAPSE: &str = "\
    Ask what prompts the step: 'step Y depends on memory; no checklist or automation \
    covers it'.";

const WHY_HINDSIGHT: &str = "\
    'Obvious' is hindsight: it was not obvious to the people there at the time, or they \
    would have acted on it; the word also implies they were slow.";
const SUGGEST_HINDSIGHT: &str = "\
    Drop the word, or describe when and how the signal became clear: 'by 14:10 the error \
    rate showed …'.";

const WHY_MINIMISING: &str = "\
    Words like 'just' and 'simply' make an action sound trivial, which implies that \
    whoever did not take it was at fault, and hide its real cost and risk.";
const SUGGEST_MINIMISING: &str = "\
    Drop the word, or state what the step involves: 'restarting X requires …, takes …'.";

// ---------------------------------------------------------------------------
// Rules

/// Context in which a rule's match is not a finding. Each list is words
/// separated by spaces, lower case, `'` as the apostrophe; words from the
/// text are compared lower-cased, with `’`/`ʼ` read as `'`.
struct Except {
    /// The word after the match is one of these.
    next: &'static str,
    /// The next word starts with a digit.
    next_is_number: bool,
    /// The word before the match is one of these.
    prev: &'static str,
    /// The first word of the match is one of these.
    first: &'static str,
}

const NO_EXCEPT: Except = Except {
    next: "",
    next_is_number: false,
    prev: "",
    first: "",
};

/// One phrase family. In `pattern` a space stands for any run of white
/// space and `'` for any apostrophe; the rest is regex syntax, without
/// capturing groups. Where two patterns can match at the same position the
/// longer one must come first (leftmost-first alternation).
struct Rule {
    pattern: &'static str,
    category: Category,
    why: &'static str,
    suggestion: &'static str,
    except: Except,
}

const MACHINE_VERBS: &str = "\
    start restart boot come connect reconnect resolve bind mount schedule allocate \
    acquire parse load compile build serialize serialise deserialize deserialise decode \
    encode authenticate spawn fork launch initialize initialise sync replicate converge \
    renew deliver elect register provision complete finish recover";

const FAULT_TECHNICAL: &str = "\
    tolerance tolerant domain domains injection isolation detection handling handler \
    line lines tree model zone zones code codes";

const LAZY_TECHNICAL: &str = "\
    loading load loaded loads evaluation evaluated init initialization initialisation \
    initialized initialised static val iterator iterators mode import imports fetch \
    fetching allocation instantiation binding deletion expiry expiration sequence \
    sequences cell";

const JUST_PRECISE_NEXT: &str = "\
    in now before after as about around enough under over below above shy short past \
    like then when while once because barely culture cause";

const JUST_RECENT_PREV: &str = "\
    had has have i'd we'd you'd he'd she'd they'd it'd not only a";

const NEGATIONS: &str = "\
    no not without never don't didn't won't";

static RULES: &[Rule] = &[
    // Longer "should … know better" before "should have".
    Rule {
        pattern: "(?:should|ought to)(?: have|'ve)? know(?:n)? better",
        category: Category::Blame,
        why: WHY_KNOW_BETTER,
        suggestion: SUGGEST_KNOW_BETTER,
        except: NO_EXCEPT,
    },
    Rule {
        pattern: "should(?:n't| not)?(?: have|'ve)",
        category: Category::Counterfactual,
        why: WHY_COUNTERFACTUAL,
        suggestion: SUGGEST_SHOULD,
        except: NO_EXCEPT,
    },
    Rule {
        pattern: "ought(?:n't| not)? to(?: have|'ve)",
        category: Category::Counterfactual,
        why: WHY_COUNTERFACTUAL,
        suggestion: SUGGEST_SHOULD,
        except: NO_EXCEPT,
    },
    Rule {
        pattern: "(?:could|would)(?:n't| not)?(?: have|'ve)",
        category: Category::Counterfactual,
        why: WHY_COUNTERFACTUAL,
        suggestion: SUGGEST_COULD,
        except: Except {
            next: "been",
            ..NO_EXCEPT
        },
    },
    Rule {
        pattern: "if only",
        category: Category::Counterfactual,
        why: WHY_COUNTERFACTUAL,
        suggestion: SUGGEST_IF_ONLY,
        except: Except {
            next: "one two three a an some few half part partially single partial minor for to",
            next_is_number: true,
            ..NO_EXCEPT
        },
    },
    Rule {
        pattern: "failed to",
        category: Category::Counterfactual,
        why: WHY_OMISSION,
        suggestion: SUGGEST_OMISSION,
        except: Except {
            next: MACHINE_VERBS,
            ..NO_EXCEPT
        },
    },
    Rule {
        pattern: "neglected to",
        category: Category::Counterfactual,
        why: WHY_OMISSION,
        suggestion: SUGGEST_OMISSION,
        except: NO_EXCEPT,
    },
    Rule {
        pattern: "(?:human|operator|pilot) errors?",
        category: Category::Blame,
        why: WHY_HUMAN_ERROR,
        suggestion: SUGGEST_HUMAN_ERROR,
        except: NO_EXCEPT,
    },
    Rule {
        pattern: "careless(?:ly|ness)?|negligen(?:t|tly|ce)|sloppy|sloppily|sloppiness\
                  |incompeten(?:t|tly|ce)|reckless(?:ly|ness)?|irresponsib(?:le|ly|ility)\
                  |complacen(?:t|tly|ce|cy)",
        category: Category::Blame,
        why: WHY_CHARACTER,
        suggestion: SUGGEST_CHARACTER,
        except: NO_EXCEPT,
    },
    Rule {
        pattern: "lazy|lazily|laziness",
        category: Category::Blame,
        why: WHY_CHARACTER,
        suggestion: SUGGEST_CHARACTER,
        except: Except {
            next: LAZY_TECHNICAL,
            ..NO_EXCEPT
        },
    },
    Rule {
        pattern: "mistakes?(?: made)? by|made (?:a |the )?mistakes?",
        category: Category::Blame,
        why: WHY_FAULT,
        suggestion: SUGGEST_FAULT,
        except: NO_EXCEPT,
    },
    Rule {
        pattern: "the fault of|at fault|fault lies with",
        category: Category::Blame,
        why: WHY_FAULT,
        suggestion: SUGGEST_FAULT,
        except: NO_EXCEPT,
    },
    Rule {
        pattern: "(?:his|her|their|my|your|our|\\w+'s)(?: own)? fault",
        category: Category::Blame,
        why: WHY_FAULT,
        suggestion: SUGGEST_FAULT,
        except: Except {
            next: FAULT_TECHNICAL,
            first: "it's that's what's there's here's who's nobody's one's anyone's \
                    anybody's noone's",
            ..NO_EXCEPT
        },
    },
    Rule {
        pattern: "blam(?:e|ed|es|ing)|blameworthy",
        category: Category::Blame,
        why: WHY_FAULT,
        suggestion: SUGGEST_FAULT,
        except: Except {
            prev: NEGATIONS,
            ..NO_EXCEPT
        },
    },
    Rule {
        pattern: "forg(?:ot|otten) to|did(?:n't| not) bother|could(?:n't| not) be bothered",
        category: Category::Blame,
        why: WHY_LAPSE,
        suggestion: SUGGEST_LAPSE,
        except: NO_EXCEPT,
    },
    Rule {
        pattern: "obviously|(?:was|were) obvious",
        category: Category::Hindsight,
        why: WHY_HINDSIGHT,
        suggestion: SUGGEST_HINDSIGHT,
        except: NO_EXCEPT,
    },
    Rule {
        pattern: "just",
        category: Category::Minimising,
        why: WHY_MINIMISING,
        suggestion: SUGGEST_MINIMISING,
        except: Except {
            next: JUST_PRECISE_NEXT,
            prev: JUST_RECENT_PREV,
            ..NO_EXCEPT
        },
    },
    Rule {
        pattern: "simply|merely",
        category: Category::Minimising,
        why: WHY_MINIMISING,
        suggestion: SUGGEST_MINIMISING,
        except: Except {
            next: "put",
            ..NO_EXCEPT
        },
    },
    Rule {
        pattern: "all (?:you|they|he|she|we|i|one|someone|somebody) \
                  (?:had|has|have|need|needs|needed) to do",
        category: Category::Minimising,
        why: WHY_MINIMISING,
        suggestion: SUGGEST_MINIMISING,
        except: NO_EXCEPT,
    },
];

/// Rewrites a rule pattern into regex syntax: a space is a run of white
/// space, `'` any apostrophe.
fn expand(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() * 2);
    for c in pattern.chars() {
        match c {
            ' ' => out.push_str(r"\s+"),
            '\'' => out.push_str("['’ʼ]"),
            c => out.push(c),
        }
    }
    out
}

/// The rules as one alternation with one capturing group per rule (group
/// `i + 1` is `RULES[i]`), wrapped in `prefix` and `suffix`.
fn alternation(prefix: &str, suffix: &str) -> String {
    let groups: Vec<String> = RULES
        .iter()
        .map(|r| format!("({})", expand(r.pattern)))
        .collect();
    format!("{prefix}(?:{}){suffix}", groups.join("|"))
}

#[allow(clippy::expect_used)] // constant patterns; a unit test compiles them
fn compile(source: &str) -> Regex {
    Regex::new(source).expect("the blameless patterns are valid regex")
}

/// Finds where phrases are: one left-to-right pass of the lazy DFA. There
/// is no leading word boundary (a name like "Élodie" starts with a letter
/// outside ASCII, and only ASCII boundaries keep the DFA fast on any text);
/// the trailing ASCII boundary picks the right alternative ("blamed", not
/// "blame"). [`accepted`] then checks both boundaries under Unicode rules.
static FINDER: LazyLock<Regex> = LazyLock::new(|| compile(&alternation("(?i)", r"(?-u:\b)")));

/// Tells which rule matches at the start of a haystack, and how far.
static AT_START: LazyLock<Regex> = LazyLock::new(|| compile(&alternation("(?i)^", r"(?-u:\b)")));

// ---------------------------------------------------------------------------
// Matching

/// A match of `RULES[rule]` at `start..end`, before overlaps are resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Candidate {
    start: usize,
    end: usize,
    rule: usize,
}

/// Every accepted phrase at every word start, in order of start.
///
/// [`FINDER`] reports leftmost, non-overlapping matches; a phrase that
/// begins inside one of them (a longer overlapping phrase, or one hidden by
/// a match [`accepted`] then refuses) is found by trying [`AT_START`] at
/// each word start inside the match. At any one start the alternation is
/// leftmost-first, so the first listed rule wins there.
fn candidates(text: &str) -> Vec<Candidate> {
    let at_start = &*AT_START;
    let mut out = Vec::new();
    for found in FINDER.find_iter(text) {
        let mut prev = text[..found.start()].chars().next_back();
        for (offset, c) in text[found.start()..found.end()].char_indices() {
            let word_start = is_word_char(c) && !prev.is_some_and(is_word_char);
            prev = Some(c);
            if !word_start {
                continue;
            }
            let start = found.start() + offset;
            let rest = &text[start..];
            if offset > 0 && !at_start.is_match(rest) {
                continue;
            }
            let Some(caps) = at_start.captures(rest) else {
                continue;
            };
            let (Some(whole), Some(group)) = (
                caps.get(0),
                (1..caps.len()).find(|&i| caps.get(i).is_some()),
            ) else {
                continue;
            };
            let (end, rule) = (start + whole.end(), group - 1);
            if accepted(text, start, end, &RULES[rule]) {
                out.push(Candidate { start, end, rule });
            }
        }
    }
    out
}

/// Keeps one candidate per overlapping run: the longer one (the earlier on
/// a tie). Input and output are ordered by start; output never overlaps.
fn resolve_overlaps(candidates: Vec<Candidate>) -> Vec<Candidate> {
    let mut out: Vec<Candidate> = Vec::with_capacity(candidates.len());
    for c in candidates {
        match out.last_mut() {
            Some(last) if c.start < last.end => {
                if c.end - c.start > last.end - last.start {
                    *last = c;
                }
            }
            _ => out.push(c),
        }
    }
    out
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn is_hyphen(c: char) -> bool {
    matches!(c, '-' | '\u{2010}' | '\u{2011}')
}

fn is_apostrophe(c: char) -> bool {
    matches!(c, '\'' | '’' | 'ʼ')
}

fn is_listed(word: &str, list: &str) -> bool {
    !word.is_empty() && list.split(' ').any(|listed| same_word(word, listed))
}

/// `word` from the text equals `listed` (lower case, `'` apostrophe).
fn same_word(word: &str, listed: &str) -> bool {
    word.chars()
        .map(|c| {
            if is_apostrophe(c) {
                '\''
            } else {
                c.to_ascii_lowercase()
            }
        })
        .eq(listed.chars())
}

/// The word (letters, digits, apostrophes) after `end`, past white space.
fn word_after(text: &str, end: usize) -> &str {
    let rest = text[end..].trim_start();
    let len = rest
        .find(|c: char| !(is_word_char(c) || is_apostrophe(c)))
        .unwrap_or(rest.len());
    &rest[..len]
}

/// The word (letters, digits, apostrophes) before `start`, past white space.
fn word_before(text: &str, start: usize) -> &str {
    let head = text[..start].trim_end();
    let from = head
        .rfind(|c: char| !(is_word_char(c) || is_apostrophe(c)))
        .map_or(0, |i| {
            i + head[i..].chars().next().map_or(1, char::len_utf8)
        });
    &head[from..]
}

/// Whether a regex match is a finding: a whole word under Unicode rules,
/// not part of a hyphenated compound, and not in an excepted context.
fn accepted(text: &str, start: usize, end: usize, rule: &Rule) -> bool {
    let mut before = text[..start].chars().rev();
    let mut after = text[end..].chars();
    let (b1, b2) = (before.next(), before.next());
    let (a1, a2) = (after.next(), after.next());
    if b1.is_some_and(is_word_char) || a1.is_some_and(is_word_char) {
        return false;
    }
    if (b1.is_some_and(is_hyphen) && b2.is_some_and(is_word_char))
        || (a1.is_some_and(is_hyphen) && a2.is_some_and(is_word_char))
    {
        return false;
    }
    let except = &rule.except;
    if !except.next.is_empty() || except.next_is_number {
        let next = word_after(text, end);
        if is_listed(next, except.next)
            || (except.next_is_number && next.starts_with(|c: char| c.is_ascii_digit()))
        {
            return false;
        }
    }
    if is_listed(word_before(text, start), except.prev) {
        return false;
    }
    if !except.first.is_empty() {
        let phrase = &text[start..end];
        let len = phrase
            .find(|c: char| !(is_word_char(c) || is_apostrophe(c)))
            .unwrap_or(phrase.len());
        if is_listed(&phrase[..len], except.first) {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// (phrase, category) of every finding, in order.
    fn flagged(text: &str) -> Vec<(String, Category)> {
        check(text)
            .into_iter()
            .map(|f| (f.phrase, f.category))
            .collect()
    }

    fn phrases(text: &str) -> Vec<String> {
        check(text).into_iter().map(|f| f.phrase).collect()
    }

    fn assert_one(text: &str, phrase: &str, category: Category) {
        assert_eq!(
            flagged(text),
            vec![(phrase.to_owned(), category)],
            "in {text:?}"
        );
    }

    fn assert_clean(text: &str) {
        assert_eq!(flagged(text), vec![], "in {text:?}");
    }

    fn assert_invariants(text: &str, findings: &[Finding]) {
        let mut last_end = 0;
        for f in findings {
            assert!(f.start < f.end, "{f:?} in {text:?}");
            assert!(
                f.start >= last_end,
                "overlap or disorder: {f:?} in {text:?}"
            );
            assert!(text.is_char_boundary(f.start) && text.is_char_boundary(f.end));
            assert_eq!(&text[f.start..f.end], f.phrase);
            last_end = f.end;
        }
    }

    #[test]
    fn matcher_compiles_with_one_group_per_rule() {
        assert_eq!(FINDER.captures_len(), RULES.len() + 1);
        assert_eq!(AT_START.captures_len(), RULES.len() + 1);
        for rule in RULES {
            let alone = format!("(?i){}", expand(rule.pattern));
            let re = Regex::new(&alone).unwrap();
            assert_eq!(re.captures_len(), 1, "capturing group in {}", rule.pattern);
            assert!(!rule.why.is_empty() && !rule.suggestion.is_empty());
        }
    }

    #[test]
    fn every_rule_is_reachable() {
        let examples = [
            "He should have known better.",
            "We should have paged earlier.",
            "They ought to have checked.",
            "It could have been caught if we would have waited.",
            "If only we had a canary.",
            "The engineer failed to check the dashboard.",
            "She neglected to update the runbook.",
            "Root cause: human error.",
            "A careless change.",
            "A lazy fix.",
            "A mistake by the on-call.",
            "It was the fault of ops.",
            "It was Bob's fault.",
            "Don't blame me, I'll blame you.",
            "He forgot to drain the node.",
            "Obviously the disk was full.",
            "Just restart it.",
            "Simply restart it.",
            "All they had to do was restart it.",
        ];
        let mut seen = vec![false; RULES.len()];
        for text in examples {
            for c in resolve_overlaps(candidates(text)) {
                seen[c.rule] = true;
            }
        }
        let missing: Vec<&str> = RULES
            .iter()
            .zip(&seen)
            .filter(|(_, s)| !**s)
            .map(|(r, _)| r.pattern)
            .collect();
        assert!(missing.is_empty(), "no example for {missing:?}");
    }

    #[test]
    fn counterfactual_should_forms() {
        for phrase in [
            "should have",
            "should've",
            "shouldn't have",
            "should not have",
            "shouldn't've",
            "Should Have",
            "SHOULD HAVE",
        ] {
            let text = format!("Alice {phrase} rolled back first.");
            assert_one(&text, phrase, Category::Counterfactual);
        }
        // "should have been" is a judgement too.
        assert_one(
            "This should have been caught in review.",
            "should have",
            Category::Counterfactual,
        );
    }

    #[test]
    fn counterfactual_could_would_ought_forms() {
        for phrase in [
            "could have",
            "could've",
            "couldn't have",
            "could not have",
            "would have",
            "would've",
            "wouldn't have",
            "would not have",
        ] {
            let text = format!("We {phrase} noticed the spike.");
            assert_one(&text, phrase, Category::Counterfactual);
        }
        for phrase in [
            "ought to have",
            "ought not to have",
            "oughtn't to have",
            "ought to've",
        ] {
            let text = format!("He {phrase} merged it.");
            assert_one(&text, phrase, Category::Counterfactual);
        }
    }

    #[test]
    fn could_or_would_have_been_describes_an_outcome() {
        assert_clean("It could have been much worse.");
        assert_clean("The alert would have been expected to fire at 14:00.");
        assert_clean("Recovery wouldn't have been faster with a second replica.");
        assert_clean("That could've been a data loss.");
    }

    #[test]
    fn if_only_wishes_but_not_conditions() {
        assert_one(
            "If only we had a canary stage.",
            "If only",
            Category::Counterfactual,
        );
        assert_clean("Failover triggers if only one replica is healthy.");
        assert_clean("It pages if only 2 of 3 probes fail.");
        assert_clean("Degrade if only a few shards answer.");
    }

    #[test]
    fn failed_to_and_neglected_to_about_people_not_machines() {
        assert_one(
            "The on-call failed to escalate.",
            "failed to",
            Category::Counterfactual,
        );
        assert_one(
            "She neglected to update the runbook.",
            "neglected to",
            Category::Counterfactual,
        );
        assert_clean("The pod failed to start after the upgrade.");
        assert_clean("The client failed to connect; the certificate failed to renew.");
        assert_clean("The service failed to come up.");
    }

    #[test]
    fn blame_words_and_phrases() {
        let cases = [
            ("The root cause was human error.", "human error"),
            ("Classic operator error.", "operator error"),
            ("It was a careless change.", "careless"),
            ("The flag was set carelessly.", "carelessly"),
            ("That was negligent.", "negligent"),
            ("This is negligence.", "negligence"),
            ("Sloppy work on the migration.", "Sloppy"),
            ("A lazy fix.", "lazy"),
            ("An incompetent rollout.", "incompetent"),
            ("A reckless deploy.", "reckless"),
            ("It was a mistake by the on-call.", "mistake by"),
            ("Mistakes made by the team.", "Mistakes made by"),
            ("I made a mistake here.", "made a mistake"),
            ("It was the fault of the DBA.", "the fault of"),
            ("It was Bob's fault.", "Bob's fault"),
            ("It was Zoë’s fault.", "Zoë’s fault"),
            ("It was their own fault.", "their own fault"),
            ("Team B was at fault.", "at fault"),
            ("The fault lies with QA.", "fault lies with"),
            ("We blame the release process.", "blame"),
            ("He was blamed for it.", "blamed"),
            ("Stop blaming the intern.", "blaming"),
            ("He should know better.", "should know better"),
            ("Ops forgot to renew the certificate.", "forgot to"),
            ("Nobody had forgotten to check.", "forgotten to"),
            ("He didn't bother to test.", "didn't bother"),
            ("He did not bother to test.", "did not bother"),
            ("They couldn't be bothered.", "couldn't be bothered"),
        ];
        for (text, phrase) in cases {
            assert_one(text, phrase, Category::Blame);
        }
    }

    #[test]
    fn should_have_known_better_is_one_blame_finding() {
        assert_one(
            "A senior engineer should have known better.",
            "should have known better",
            Category::Blame,
        );
        assert_one(
            "She should’ve known better.",
            "should’ve known better",
            Category::Blame,
        );
    }

    #[test]
    fn hindsight_and_minimising() {
        assert_one(
            "Obviously the disk was full.",
            "Obviously",
            Category::Hindsight,
        );
        assert_one("The cause was obvious.", "was obvious", Category::Hindsight);
        assert_one("Just restart the pod.", "Just", Category::Minimising);
        assert_one("It was just a typo.", "just", Category::Minimising);
        assert_one("You simply roll back.", "simply", Category::Minimising);
        assert_one("It merely needed a flag.", "merely", Category::Minimising);
        assert_one(
            "All they had to do was roll back.",
            "All they had to do",
            Category::Minimising,
        );
    }

    #[test]
    fn just_is_left_alone_when_it_means_exactly_or_recently() {
        for text in [
            "The backup finished just in time.",
            "We use just-in-time compilation.",
            "We had just deployed v2.",
            "We'd just deployed v2.",
            "They’d just finished.",
            "It happened just before 14:00 and just after the deploy.",
            "Latency stayed just under the SLO.",
            "We aim for a just culture.",
            "Not just the database was affected.",
            "It only just fit.",
            "Simply put, the queue filled up.",
        ] {
            assert_clean(text);
        }
    }

    #[test]
    fn technical_terms_are_not_blame() {
        for text in [
            "Lazy loading deferred the config read.",
            "A lazy-loaded module.",
            "The system's fault tolerance held.",
            "It's fault tolerant by design.",
            "A fault of the RAID controller.",
            "We ran fault injection tests.",
            "It was nobody's fault.",
            "It was no one's fault.",
            "Through no fault of their own, the job died.",
        ] {
            assert_clean(text);
        }
    }

    #[test]
    fn negated_blame_is_the_blameless_stance() {
        for text in [
            "This is a no blame review.",
            "We are not blaming anyone.",
            "Written without blame.",
            "Don't blame individuals.",
            "We run blame-free reviews.",
        ] {
            assert_clean(text);
        }
    }

    #[test]
    fn whole_words_only() {
        for text in [
            "The review is blameless.",
            "Blamelessness matters.",
            "She is shouldering the on-call load.",
            "Shoulders have it easy.",
            "Injustice, adjustment, justification.",
            "A simplyfied diagram.",
            "Humane errors? No: humanerror is one token.",
            "Failedto is a log key, so is failed_to.",
            "should_have_paged is a metric.",
            "Adjust the threshold; an unjust outcome.",
        ] {
            assert_clean(text);
        }
    }

    #[test]
    fn names_may_start_outside_ascii() {
        assert_one("It was Élodie's fault.", "Élodie's fault", Category::Blame);
        assert_one("Ως Ørjan’s fault.", "Ørjan’s fault", Category::Blame);
    }

    /// Tries [`AT_START`] at every word start: what [`candidates`] must find.
    fn candidates_brute_force(text: &str) -> Vec<Candidate> {
        let mut out = Vec::new();
        let mut prev = None;
        for (start, c) in text.char_indices() {
            let word_start = is_word_char(c) && !prev.is_some_and(is_word_char);
            prev = Some(c);
            if !word_start {
                continue;
            }
            let Some(caps) = AT_START.captures(&text[start..]) else {
                continue;
            };
            let rule = (1..caps.len()).find(|&i| caps.get(i).is_some()).unwrap() - 1;
            let end = start + caps.get(0).unwrap().end();
            if accepted(text, start, end, &RULES[rule]) {
                out.push(Candidate { start, end, rule });
            }
        }
        out
    }

    #[test]
    fn non_ascii_letters_join_words() {
        // ASCII-only boundaries would see a break between é and b.
        assert_clean("éblame blameé ßjust");
        assert_one("élan — blame", "blame", Category::Blame);
    }

    #[test]
    fn across_line_breaks_and_runs_of_spaces() {
        let text = "We should\n  have paged.\r\nIt was human\t\terror.\nIf\u{a0}only.";
        let f = check(text);
        assert_invariants(text, &f);
        assert_eq!(
            phrases(text),
            ["should\n  have", "human\t\terror", "If\u{a0}only"]
        );
    }

    #[test]
    fn curly_and_modifier_apostrophes() {
        for phrase in [
            "shouldn't have",
            "shouldn’t have",
            "shouldnʼt have",
            "should’ve",
            "couldn’t have",
        ] {
            let text = format!("We {phrase} waited.");
            assert_one(&text, phrase, Category::Counterfactual);
        }
        assert_one(
            "It wasn’t Bob’s fault… or was it?",
            "Bob’s fault",
            Category::Blame,
        );
        assert_one("He didn’t bother.", "didn’t bother", Category::Blame);
    }

    #[test]
    fn offsets_slice_back_to_the_phrase() {
        let text = "Ünïcødé 🚨 — Alice should’ve seen it; 障害 was human error, obviously.";
        let f = check(text);
        assert_invariants(text, &f);
        assert_eq!(f.len(), 3);
        for finding in &f {
            assert_eq!(&text[finding.start..finding.end], finding.phrase);
        }
        assert_eq!(
            f.iter().map(|f| f.category).collect::<Vec<_>>(),
            [
                Category::Counterfactual,
                Category::Blame,
                Category::Hindsight
            ]
        );
    }

    #[test]
    fn findings_are_ordered_by_position() {
        let text = "Obviously he forgot to check. He should have. Just blame Bob's fault.";
        let f = check(text);
        assert_invariants(text, &f);
        assert_eq!(
            phrases(text),
            [
                "Obviously",
                "forgot to",
                "should have",
                "Just",
                "blame",
                "Bob's fault"
            ]
        );
    }

    #[test]
    fn overlapping_phrases_are_reported_once() {
        // "made a mistake" and "mistake by" overlap: the longer wins.
        assert_one(
            "He made a mistake by restarting.",
            "made a mistake",
            Category::Blame,
        );
    }

    #[test]
    fn resolve_overlaps_keeps_the_longest() {
        let c = |start, end, rule| Candidate { start, end, rule };
        // Later and longer wins; chained overlap keeps the longest.
        assert_eq!(
            resolve_overlaps(vec![c(0, 5, 0), c(3, 12, 1), c(10, 14, 2), c(20, 22, 3)]),
            [c(3, 12, 1), c(20, 22, 3)]
        );
        // A tie keeps the earlier.
        assert_eq!(resolve_overlaps(vec![c(0, 4, 0), c(2, 6, 1)]), [c(0, 4, 0)]);
        // Adjacent is not overlapping.
        assert_eq!(
            resolve_overlaps(vec![c(0, 4, 0), c(4, 6, 1)]),
            [c(0, 4, 0), c(4, 6, 1)]
        );
        assert_eq!(resolve_overlaps(vec![]), []);
    }

    #[test]
    fn empty_and_clean_text() {
        assert_clean("");
        assert_clean("   \n\t ");
        assert_clean(
            "At 14:02 the deploy of v2 began. The health check failed to connect, \
             the pager fired and Alice rolled back at 14:09 because the runbook \
             listed rollback as the first step.",
        );
    }

    #[test]
    fn category_names_match_serde() {
        for c in Category::ALL {
            assert_eq!(serde_json::to_value(c).unwrap(), c.as_str());
        }
    }

    #[test]
    fn finding_serialises_as_json() {
        let f = check("It was human error.");
        let json = serde_json::to_value(&f).unwrap();
        assert_eq!(
            json,
            serde_json::json!([{
                "start": 7,
                "end": 18,
                "phrase": "human error",
                "category": "blame",
                "why": WHY_HUMAN_ERROR,
                "suggestion": SUGGEST_HUMAN_ERROR,
            }])
        );
    }

    #[test]
    fn suggestions_follow_the_category() {
        let f = check("He should have rolled back; it was human error.");
        assert_eq!(f[0].suggestion, SUGGEST_SHOULD);
        assert!(f[0].why.contains("hindsight"));
        assert_eq!(f[1].suggestion, SUGGEST_HUMAN_ERROR);
    }

    #[test]
    fn summary_wording() {
        assert_eq!(summary(&[]), "No phrases flagged for blame or hindsight");
        let one = check("Just restart it.");
        assert_eq!(
            summary(&one),
            "1 phrase may read as blame or hindsight — see the suggestion; saving is not blocked"
        );
        let three = check("He should have known better; human error; obviously.");
        assert_eq!(
            summary(&three),
            "3 phrases may read as blame or hindsight — see the suggestions; saving is not blocked"
        );
    }

    /// Times 50 KB reviews, one dense with phrases, one with none; run with
    /// `--ignored --nocapture` (and `--release` for the shipped speed).
    #[test]
    #[ignore]
    fn timing_50kb_review() {
        fn repeat_to_50kb(paragraph: &str) -> String {
            let mut text = String::new();
            while text.len() < 50_000 {
                text.push_str(paragraph);
            }
            text
        }
        let dense = repeat_to_50kb(
            "At 14:02 the deploy began and the pod failed to start. Alice \
             should’ve paged sooner; it was not human error but a gap in \
             the runbook. We had just deployed, so the team just rolled back. ",
        );
        let quiet = repeat_to_50kb(
            "At 14:02 the deploy of version 2 began. The health check saw errors \
             at 14:05, the pager fired, and the on-call engineer rolled back at \
             14:09 because the runbook listed rollback as the first step. ",
        );
        check("just"); // compile the regexes
        for (name, text) in [("dense", &dense), ("quiet", &quiet)] {
            let runs: u32 = 200;
            let started = std::time::Instant::now();
            let mut findings = 0;
            for _ in 0..runs {
                findings = check(text).len();
            }
            eprintln!(
                "{name}: {} bytes, {findings} findings, {:?} per check",
                text.len(),
                started.elapsed() / runs
            );
        }
    }

    /// Tokens that stress the matcher: phrase parts, apostrophes, hyphens,
    /// odd white space and multi-byte letters.
    fn token() -> impl Strategy<Value = &'static str> {
        const WORDS: &str = "should have 've n't could would ought to not been if only one \
             failed start human error blame less just in time had Bob 's s fault tolerance it \
             made a mistake by know known better obviously lazy loading simply put all they do x";
        const PHRASES: &str = "should have|could have been|shouldn’t've|human error|Bob's fault|\
             it's fault|made a mistake by|failed to start|failed to check|just in time|had just|\
             should have known better|if only|if only 2|blame-free|no blame|Élodie’s fault";
        let mut tokens: Vec<&'static str> = WORDS.split_whitespace().collect();
        tokens.extend(PHRASES.split('|'));
        tokens.extend([
            "’", "ʼ", "'", "-", " ", "  ", "\n", "\t", "\u{a0}", "é", "ß", "障害", "🚨", "_", ".",
            "ſ", "\u{212a}", "Élodie", "ad", ",",
        ]);
        prop::sample::select(tokens)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn findings_are_well_formed_on_token_soup(tokens in prop::collection::vec(token(), 0..40)) {
            let text = tokens.concat();
            let f = check(&text);
            assert_invariants(&text, &f);
        }

        #[test]
        fn candidates_agree_with_brute_force(tokens in prop::collection::vec(token(), 0..40)) {
            let text = tokens.concat();
            prop_assert_eq!(candidates(&text), candidates_brute_force(&text));
        }

        #[test]
        fn findings_are_well_formed_on_any_text(text in "\\PC{0,200}") {
            let f = check(&text);
            assert_invariants(&text, &f);
        }
    }
}
