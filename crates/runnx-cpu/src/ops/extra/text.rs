//! String ops: StringNormalizer, StringConcat, StringSplit, RegexFullMatch, TfIdfVectorizer.

use super::to_usize;
use crate::ops::util::{broadcast_shapes, broadcast_strides};
use crate::Registry;
use runnx_ir::tensor::checked_len;
use runnx_ir::{bail, ensure, kernel, DType, Kernel, NodeCtx, Result, Tensor, Value};
use std::collections::{HashMap, HashSet};

pub fn register(r: &mut Registry) {
    r.add("StringNormalizer", string_normalizer);
    r.add("StringConcat", string_concat);
    r.add("StringSplit", string_split);
    r.add("RegexFullMatch", regex_full_match);
    r.add("TfIdfVectorizer", tfidf_vectorizer);
}

#[derive(Clone, Copy, PartialEq)]
enum CaseChange {
    None,
    Lower,
    Upper,
}

/// StringNormalizer. Case changes and case-insensitive stopword matching use the
/// Unicode default case mappings (what the en_US locale gives); `locale` is not read.
fn string_normalizer(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let action = match n.attr_str("case_change_action", "NONE")?.as_str() {
        "NONE" => CaseChange::None,
        "LOWER" => CaseChange::Lower,
        "UPPER" => CaseChange::Upper,
        other => bail!("case_change_action must be NONE, LOWER or UPPER, got '{other}'"),
    };
    let case_sensitive = n.attr_int("is_case_sensitive", 0)? != 0;
    let stop: HashSet<String> = n
        .attr_strings_opt("stopwords")?
        .unwrap_or_default()
        .into_iter()
        .map(|s| if case_sensitive { s } else { s.to_lowercase() })
        .collect();
    Ok(kernel(move |inputs| {
        let x = inputs.tensor(0)?;
        let shape = x.shape();
        let two_d = match shape {
            [_] => false,
            [1, _] => true,
            _ => bail!("input must have shape [C] or [1, C], got {:?}", shape),
        };
        let mut out: Vec<String> = Vec::new();
        for s in x.as_slice::<String>()? {
            let is_stop = if stop.is_empty() {
                false
            } else if case_sensitive {
                stop.contains(s)
            } else {
                stop.contains(&s.to_lowercase())
            };
            if is_stop {
                continue;
            }
            out.push(match action {
                CaseChange::None => s.clone(),
                CaseChange::Lower => s.to_lowercase(),
                CaseChange::Upper => s.to_uppercase(),
            });
        }
        if out.is_empty() {
            out.push(String::new());
        }
        let n = out.len();
        let shape = if two_d { vec![1, n] } else { vec![n] };
        Ok(vec![Value::Tensor(Tensor::new(shape, out)?)])
    }))
}

fn string_concat(_n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    Ok(kernel(|inputs| {
        let a = inputs.tensor(0)?;
        let b = inputs.tensor(1)?;
        let (sa, sb) = (a.as_slice::<String>()?, b.as_slice::<String>()?);
        let shape = broadcast_shapes(&[a.shape(), b.shape()])?;
        let total = checked_len(&shape)?;
        let out: Vec<String> = if a.shape() == b.shape() {
            sa.iter().zip(sb).map(|(x, y)| format!("{x}{y}")).collect()
        } else {
            let st_a = broadcast_strides(a.shape(), &shape);
            let st_b = broadcast_strides(b.shape(), &shape);
            let mut idx = vec![0usize; shape.len()];
            let mut out = Vec::with_capacity(total);
            for _ in 0..total {
                let oa: usize = idx.iter().zip(&st_a).map(|(i, s)| i * s).sum();
                let ob: usize = idx.iter().zip(&st_b).map(|(i, s)| i * s).sum();
                out.push(format!("{}{}", sa[oa], sb[ob]));
                for d in (0..shape.len()).rev() {
                    idx[d] += 1;
                    if idx[d] < shape[d] {
                        break;
                    }
                    idx[d] = 0;
                }
            }
            out
        };
        Ok(vec![Value::Tensor(Tensor::new(shape, out)?)])
    }))
}

/// Split on runs of whitespace, dropping leading and trailing whitespace; after
/// `maxsplit` splits the rest is one substring (trimmed, as the spec and ONNX
/// Runtime do).
fn split_whitespace(s: &str, maxsplit: Option<usize>) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = s.trim_start();
    while !rest.is_empty() {
        if maxsplit.is_some_and(|m| out.len() >= m) {
            out.push(rest.trim_end());
            break;
        }
        match rest.find(char::is_whitespace) {
            Some(end) => {
                out.push(&rest[..end]);
                rest = rest[end..].trim_start();
            }
            None => {
                out.push(rest);
                break;
            }
        }
    }
    out
}

fn string_split(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let delimiter = n.attr_str("delimiter", "")?;
    let maxsplit = match n.attr_int_opt("maxsplit")? {
        Some(m) => Some(to_usize(m, "maxsplit")?),
        None => None,
    };
    Ok(kernel(move |inputs| {
        let x = inputs.tensor(0)?;
        let parts: Vec<Vec<&str>> = x
            .as_slice::<String>()?
            .iter()
            .map(|s| {
                if delimiter.is_empty() {
                    split_whitespace(s, maxsplit)
                } else if s.is_empty() {
                    // An empty string has no substrings (as in ONNX Runtime).
                    Vec::new()
                } else {
                    match maxsplit {
                        Some(m) => s.splitn(m.saturating_add(1), delimiter.as_str()).collect(),
                        None => s.split(delimiter.as_str()).collect(),
                    }
                }
            })
            .collect();
        let width = parts.iter().map(Vec::len).max().unwrap_or(0);
        let mut shape = x.shape().to_vec();
        let lengths: Vec<i64> = parts.iter().map(|p| p.len() as i64).collect();
        let len_t = Tensor::new(shape.clone(), lengths)?;
        shape.push(width);
        let mut out = Vec::with_capacity(checked_len(&shape)?);
        for p in &parts {
            out.extend(p.iter().map(|s| s.to_string()));
            out.extend(std::iter::repeat_n(String::new(), width - p.len()));
        }
        Ok(vec![
            Value::Tensor(Tensor::new(shape, out)?),
            Value::Tensor(len_t),
        ])
    }))
}

/// RegexFullMatch with RE2 semantics as far as the `regex` crate allows: `.` and
/// literals work on characters, while `\w \d \s \b` (and their negations) are
/// ASCII-only as in RE2 (see [`re2_classes`]).
fn regex_full_match(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let pattern = n.require("pattern", n.attr_str_opt("pattern"))?;
    let re = regex::Regex::new(&format!(r"\A(?:{})\z", re2_classes(&pattern)))
        .map_err(|e| runnx_ir::Error::invalid(format!("invalid pattern '{pattern}': {e}")))?;
    Ok(kernel(move |inputs| {
        let x = inputs.tensor(0)?;
        let out: Vec<bool> = x
            .as_slice::<String>()?
            .iter()
            .map(|s| re.is_match(s))
            .collect();
        Ok(vec![Value::Tensor(Tensor::new(x.shape().to_vec(), out)?)])
    }))
}

/// Rewrite the Perl classes of a pattern into their ASCII (RE2) forms; the rest
/// of the pattern is kept as written.
fn re2_classes(p: &str) -> String {
    let mut out = String::with_capacity(p.len() + 16);
    let mut chars = p.chars().peekable();
    let mut in_class = false;
    // Whether the class was just opened (a `]` there is a literal).
    let mut class_start = false;
    while let Some(c) = chars.next() {
        let was_start = std::mem::replace(&mut class_start, false);
        match c {
            '\\' => {
                let Some(e) = chars.next() else {
                    out.push(c);
                    break;
                };
                let rep = match (in_class, e) {
                    (false, 'w') => "[0-9A-Za-z_]",
                    (false, 'W') => "[^0-9A-Za-z_]",
                    (false, 'd') => "[0-9]",
                    (false, 'D') => "[^0-9]",
                    (false, 's') => "[\\t\\n\\f\\r ]",
                    (false, 'S') => "[^\\t\\n\\f\\r ]",
                    (false, 'b') => "(?-u:\\b)",
                    (false, 'B') => "(?-u:\\B)",
                    (true, 'w') => "0-9A-Za-z_",
                    (true, 'd') => "0-9",
                    (true, 's') => "\\t\\n\\f\\r ",
                    _ => "",
                };
                if rep.is_empty() {
                    out.push(c);
                    out.push(e);
                } else {
                    out.push_str(rep);
                }
            }
            '[' if !in_class => {
                in_class = true;
                class_start = true;
                out.push(c);
                if chars.peek() == Some(&'^') {
                    out.push('^');
                    chars.next();
                }
            }
            '[' if in_class && chars.peek() == Some(&':') => {
                // A POSIX class such as [:alpha:]: copy through its closing ":]".
                out.push(c);
                let mut prev = ' ';
                for d in chars.by_ref() {
                    out.push(d);
                    if prev == ':' && d == ']' {
                        break;
                    }
                    prev = d;
                }
            }
            ']' if in_class && !was_start => {
                in_class = false;
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

#[derive(Clone, Copy, PartialEq)]
enum Weighting {
    Tf,
    Idf,
    TfIdf,
}

#[derive(Clone, PartialEq, Eq, Hash)]
enum Token {
    Int(i64),
    Str(String),
}

struct TfIdf {
    min_n: usize,
    max_n: usize,
    max_skip: usize,
    mode: Weighting,
    weights: Option<Vec<f32>>,
    out_size: usize,
    vocab: HashMap<Token, u32>,
    /// n-grams (as vocabulary ids) and their prefixes; `Some(output index)` for pool n-grams.
    grams: HashMap<Vec<u32>, Option<usize>>,
}

fn tfidf_vectorizer(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let min_n = to_usize(
        n.require("min_gram_length", n.attr_int_opt("min_gram_length"))?,
        "min_gram_length",
    )?;
    let max_n = to_usize(
        n.require("max_gram_length", n.attr_int_opt("max_gram_length"))?,
        "max_gram_length",
    )?;
    let max_skip = to_usize(
        n.require("max_skip_count", n.attr_int_opt("max_skip_count"))?,
        "max_skip_count",
    )?;
    ensure!(
        min_n >= 1 && min_n <= max_n,
        "need 1 <= min_gram_length <= max_gram_length, got {min_n} and {max_n}"
    );
    let mode = match n.require("mode", n.attr_str_opt("mode"))?.as_str() {
        "TF" => Weighting::Tf,
        "IDF" => Weighting::Idf,
        "TFIDF" => Weighting::TfIdf,
        other => bail!("mode must be TF, IDF or TFIDF, got '{other}'"),
    };
    let counts = n.require("ngram_counts", n.attr_ints_opt("ngram_counts"))?;
    let indexes = n.require("ngram_indexes", n.attr_ints_opt("ngram_indexes"))?;
    let pool: Vec<Token> = match (
        n.attr_ints_opt("pool_int64s")?,
        n.attr_strings_opt("pool_strings")?,
    ) {
        (Some(p), None) => p.into_iter().map(Token::Int).collect(),
        (None, Some(p)) => p.into_iter().map(Token::Str).collect(),
        (Some(p), Some(s)) if s.is_empty() => p.into_iter().map(Token::Int).collect(),
        (Some(p), Some(s)) if p.is_empty() => s.into_iter().map(Token::Str).collect(),
        _ => bail!("exactly one of pool_int64s and pool_strings must be given"),
    };
    let weights = n.attr_floats_opt("weights")?.filter(|w| !w.is_empty());
    let mut out_size = 0usize;
    for &i in &indexes {
        out_size = out_size.max(to_usize(i, "ngram_indexes")?.saturating_add(1));
    }
    if let Some(w) = &weights {
        ensure!(
            w.len() >= out_size,
            "weights has {} values, need {}",
            w.len(),
            out_size
        );
    }
    let mut vocab: HashMap<Token, u32> = HashMap::new();
    let ids: Vec<u32> = pool
        .into_iter()
        .map(|t| {
            let next = vocab.len() as u32;
            *vocab.entry(t).or_insert(next)
        })
        .collect();
    let mut grams: HashMap<Vec<u32>, Option<usize>> = HashMap::new();
    let mut gram_id = 0usize;
    for (i, &start) in counts.iter().enumerate() {
        let size = i + 1;
        let start = to_usize(start, "ngram_counts")?;
        let end = match counts.get(i + 1) {
            Some(&e) => to_usize(e, "ngram_counts")?,
            None => ids.len(),
        };
        ensure!(
            start <= end && end <= ids.len(),
            "ngram_counts {:?} do not fit a pool of {}",
            counts,
            ids.len()
        );
        let count = (end - start) / size;
        if size < min_n || size > max_n {
            gram_id += count;
            continue;
        }
        for g in 0..count {
            let key = &ids[start + g * size..start + (g + 1) * size];
            let Some(&out) = indexes.get(gram_id) else {
                bail!(
                    "ngram_indexes has {} entries, the pool needs more",
                    indexes.len()
                );
            };
            for p in 1..size {
                grams.entry(key[..p].to_vec()).or_insert(None);
            }
            grams.insert(key.to_vec(), Some(out as usize));
            gram_id += 1;
        }
    }
    let t = TfIdf {
        min_n,
        max_n,
        max_skip,
        mode,
        weights,
        out_size,
        vocab,
        grams,
    };
    Ok(kernel(move |inputs| t.run(inputs.tensor(0)?)))
}

impl TfIdf {
    fn tokens(&self, x: &Tensor) -> Result<Vec<Option<u32>>> {
        let look = |t: &Token| self.vocab.get(t).copied();
        Ok(match x.dtype() {
            DType::String => x
                .as_slice::<String>()?
                .iter()
                .map(|s| look(&Token::Str(s.clone())))
                .collect(),
            DType::I32 | DType::I64 => x
                .to_i64_vec()?
                .into_iter()
                .map(|v| look(&Token::Int(v)))
                .collect(),
            other => bail!("input must be string, int32 or int64, got {other}"),
        })
    }

    fn count_row(&self, row: &[Option<u32>], freq: &mut [u32]) {
        let len = row.len();
        let mut start_n = self.min_n;
        let mut key = Vec::with_capacity(self.max_n);
        for skip in 1..=self.max_skip + 1 {
            for start in 0..len {
                if start + skip * (start_n - 1) >= len {
                    break;
                }
                key.clear();
                for size in 1..=self.max_n {
                    let pos = start + (size - 1) * skip;
                    let Some(Some(tok)) = row.get(pos) else { break };
                    key.push(*tok);
                    match self.grams.get(&key) {
                        None => break,
                        Some(Some(out)) if size >= start_n => freq[*out] += 1,
                        Some(_) => {}
                    }
                }
            }
            // Unigrams are counted once: they do not depend on the skip distance.
            if start_n == 1 {
                start_n = 2;
                if start_n > self.max_n {
                    break;
                }
            }
        }
    }

    fn run(&self, x: &Tensor) -> Result<Vec<Value>> {
        let (rows, cols, out_shape) = match x.shape() {
            [] => (1, 1, vec![self.out_size]),
            [c] => (1, *c, vec![self.out_size]),
            [b, c] => (*b, *c, vec![*b, self.out_size]),
            s => bail!("input must have shape [C] or [B, C], got {:?}", s),
        };
        let toks = self.tokens(x)?;
        let mut freq = vec![0u32; checked_len(&[rows, self.out_size])?];
        if cols > 0 && self.out_size > 0 {
            for (r, f) in freq.chunks_mut(self.out_size).enumerate() {
                self.count_row(&toks[r * cols..(r + 1) * cols], f);
            }
        }
        let out: Vec<f32> = freq
            .iter()
            .enumerate()
            .map(|(i, &f)| {
                let w = self.weights.as_ref().map_or(1.0, |w| w[i % self.out_size]);
                match self.mode {
                    Weighting::Tf => f as f32,
                    Weighting::Idf => {
                        if f > 0 {
                            w
                        } else {
                            0.0
                        }
                    }
                    Weighting::TfIdf => f as f32 * w,
                }
            })
            .collect();
        Ok(vec![Value::Tensor(Tensor::new(out_shape, out)?)])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitespace_split_follows_python() {
        assert_eq!(split_whitespace("  a  b c ", None), vec!["a", "b", "c"]);
        assert_eq!(split_whitespace("o n n x", Some(2)), vec!["o", "n", "n x"]);
        assert!(split_whitespace("   ", None).is_empty());
        assert_eq!(split_whitespace(" x y ", Some(0)), vec!["x y"]);
    }

    #[test]
    fn re2_classes_are_ascii() {
        assert_eq!(
            re2_classes(r"\w+\.[\w.-]"),
            r"[0-9A-Za-z_]+\.[0-9A-Za-z_.-]"
        );
        assert_eq!(
            re2_classes(r"\\w[]\d][[:alpha:]\s]"),
            r"\\w[]0-9][[:alpha:]\t\n\f\r ]"
        );
        for p in [
            r"(\W|^)[\w.\-]{0,25}@(yahoo|gmail)\.com(\W|$)",
            r"www\.[\w.-]+\.\bcom\b",
            r"\S+\B",
        ] {
            assert!(regex::Regex::new(&re2_classes(p)).is_ok(), "{p}");
        }
    }
}
