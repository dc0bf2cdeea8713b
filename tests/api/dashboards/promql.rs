//! Just enough PromQL reading to name the metrics an expression selects and the exact label
//! matchers it puts on them: strings, durations, Grafana variables, function names, keywords and
//! grouping label lists are not metrics.

use std::collections::BTreeSet;

/// Words that are operators or modifiers, never metric names.
const KEYWORDS: [&str; 13] = [
    "and",
    "or",
    "unless",
    "bool",
    "offset",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "inf",
    "nan",
];

/// Keywords followed by a parenthesised list of label names.
const GROUPING: [&str; 6] = [
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
];

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Str(String),
    /// A number, a duration, or a Grafana variable (`$job`, `${datasource}`).
    Literal,
    Punct(char),
}

/// An exact (`=`) label matcher of a selector: metric, label, value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Matcher {
    pub metric: String,
    pub label: String,
    pub value: String,
}

/// The metric names `expr` selects, as written (`_bucket` included).
pub fn metric_names(expr: &str) -> BTreeSet<String> {
    selectors(expr).into_iter().map(|(name, _)| name).collect()
}

/// The exact matchers of `expr`'s selectors, leaving out values with a Grafana variable.
pub fn exact_matchers(expr: &str) -> Vec<Matcher> {
    selectors(expr)
        .into_iter()
        .flat_map(|(metric, matchers)| {
            matchers.into_iter().map(move |(label, value)| Matcher {
                metric: metric.clone(),
                label,
                value,
            })
        })
        .collect()
}

/// Each selector's metric name and exact matchers.
fn selectors(expr: &str) -> Vec<(String, Vec<(String, String)>)> {
    let tokens = tokenize(expr);
    let mut found = Vec::new();
    let mut at = 0;
    while at < tokens.len() {
        match &tokens[at] {
            Token::Ident(word) if GROUPING.contains(&word.as_str()) => {
                at = skip_group(&tokens, at + 1, '(', ')');
            }
            Token::Ident(word) if word == "offset" => at += 2,
            Token::Ident(word) if KEYWORDS.contains(&word.as_str()) => at += 1,
            // A function call, or an aggregation with its grouping first (`sum by (le) (...)`).
            Token::Ident(_) if is_call(tokens.get(at + 1)) => at += 1,
            Token::Ident(word) => {
                let (matchers, next) = if tokens.get(at + 1) == Some(&Token::Punct('{')) {
                    matchers(&tokens, at + 2)
                } else {
                    (Vec::new(), at + 1)
                };
                found.push((word.clone(), matchers));
                at = next;
            }
            Token::Punct('{') => at = skip_group(&tokens, at, '{', '}'),
            Token::Punct('[') => at = skip_group(&tokens, at, '[', ']'),
            _ => at += 1,
        }
    }
    found
}

fn is_call(next: Option<&Token>) -> bool {
    match next {
        Some(Token::Punct('(')) => true,
        Some(Token::Ident(word)) => word == "by" || word == "without",
        _ => false,
    }
}

/// The index after the group opened at `at` (when `tokens[at]` is `open`), else `at`.
fn skip_group(tokens: &[Token], at: usize, open: char, close: char) -> usize {
    if tokens.get(at) != Some(&Token::Punct(open)) {
        return at;
    }
    tokens[at..]
        .iter()
        .position(|t| *t == Token::Punct(close))
        .map_or(tokens.len(), |end| at + end + 1)
}

/// Reads `label op "value"` pairs from `at` to the closing brace; answers the exact ones and the
/// index after the brace.
fn matchers(tokens: &[Token], mut at: usize) -> (Vec<(String, String)>, usize) {
    let mut exact = Vec::new();
    while at < tokens.len() && tokens[at] != Token::Punct('}') {
        if let Token::Ident(label) = &tokens[at] {
            let mut op = String::new();
            at += 1;
            while let Some(Token::Punct(c @ ('=' | '!' | '~'))) = tokens.get(at) {
                op.push(*c);
                at += 1;
            }
            if let Some(Token::Str(value)) = tokens.get(at)
                && op == "="
                && !value.contains('$')
            {
                exact.push((label.clone(), value.clone()));
            }
        }
        at += 1;
    }
    (exact, at + 1)
}

fn tokenize(expr: &str) -> Vec<Token> {
    let chars: Vec<char> = expr.chars().collect();
    let mut tokens = Vec::new();
    let mut at = 0;
    while at < chars.len() {
        let c = chars[at];
        let start = at;
        if c.is_whitespace() {
            at += 1;
            continue;
        }
        if matches!(c, '"' | '\'' | '`') {
            let end = closing_quote(&chars, at);
            tokens.push(Token::Str(chars[start + 1..end].iter().collect()));
            at = end + 1;
        } else if c.is_ascii_alphabetic() || c == '_' || c == ':' {
            at = run(&chars, at, |c| {
                c.is_ascii_alphanumeric() || c == '_' || c == ':'
            });
            tokens.push(Token::Ident(chars[start..at].iter().collect()));
        } else if c.is_ascii_digit()
            || (c == '.' && chars.get(at + 1).is_some_and(char::is_ascii_digit))
        {
            at = run(&chars, at, |c| {
                c.is_ascii_alphanumeric() || c == '.' || c == '_'
            });
            tokens.push(Token::Literal);
        } else if c == '$' {
            at = if chars.get(at + 1) == Some(&'{') {
                run(&chars, at, |c| c != '}') + 1
            } else {
                run(&chars, at + 1, |c| c.is_ascii_alphanumeric() || c == '_')
            };
            tokens.push(Token::Literal);
        } else {
            at += 1;
            tokens.push(Token::Punct(c));
        }
    }
    tokens
}

/// The index of the quote closing the string opened at `at` (a backslash escapes the next
/// character), or the end of the expression.
fn closing_quote(chars: &[char], at: usize) -> usize {
    let mut i = at + 1;
    while i < chars.len() && chars[i] != chars[at] {
        i += if chars[i] == '\\' { 2 } else { 1 };
    }
    i.min(chars.len())
}

/// The index of the first character from `at` that does not satisfy `keep`.
fn run(chars: &[char], at: usize, keep: impl Fn(char) -> bool) -> usize {
    chars[at..]
        .iter()
        .position(|c| !keep(*c))
        .map_or(chars.len(), |n| at + n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(expr: &str) -> Vec<String> {
        metric_names(expr).into_iter().collect()
    }

    #[test]
    fn a_latency_quantile_names_its_bucket_series_and_nothing_else() {
        let expr = r#"histogram_quantile(0.99, sum by (le, route) (rate(http_request_duration_seconds_bucket{job=~"$job", route!="/v1/upgrade-jobs/{jobId}/events"}[$__rate_interval])))"#;

        assert_eq!(names(expr), ["http_request_duration_seconds_bucket"]);
    }

    #[test]
    fn strings_grouping_lists_keywords_and_numbers_are_not_metrics() {
        let expr = r#"sum by (route, class) (label_replace(rate(http_requests_total{status=~"5.."}[5m]), "class", "${1}xx", "status", "([0-9]).."))
            / on (job) group_left (instance) max without (state) (db_pool_max_connections) > bool 0.5
            and upgrade_job_queue_depth offset 5m unless sum(webhook_endpoints) by (state)"#;

        assert_eq!(
            names(expr),
            [
                "db_pool_max_connections",
                "http_requests_total",
                "upgrade_job_queue_depth",
                "webhook_endpoints",
            ]
        );
    }

    #[test]
    fn exact_matchers_are_read_and_regex_negated_and_variable_ones_left_out() {
        let expr = r#"max by (instance) (db_pool_connections{job=~"$job", instance="$instance", state="in_use"}) / sum(up{state!="idle"})"#;

        assert_eq!(
            exact_matchers(expr),
            [Matcher {
                metric: "db_pool_connections".to_owned(),
                label: "state".to_owned(),
                value: "in_use".to_owned(),
            }]
        );
    }
}
