//! `doctor --format markdown`: the report as a user pastes it into a RomM or
//! Pocket ID support thread (GitHub, Discord): the verdict, the versions,
//! every finding with its fix — failures first, so a helper reads what is
//! wrong before what is fine —, the variables RomM reads with every secret
//! removed, and the run's options.
//!
//! Every text that is not romm-oidc's own (a provider's, RomM's, a file's) is
//! untrusted: outside code blocks every ASCII punctuation character is
//! backslash-escaped (no link, image, HTML tag, mention or heading can be
//! made), inside them the fence is longer than any run of backticks in the
//! text; in both, control and invisible characters are shown as escapes.

use std::fmt::Write as _;

use serde_json::Value;

use super::{Finding, Report, Status, clean, json_pretty, mark};
use crate::checks::id;
use crate::settings::{Kind, Settings, Source};
use crate::version;

/// What the report alone does not hold: the variables RomM reads (none for
/// `explain`) and the run's options.
pub struct Setup {
    /// `NAME=value  # source` lines, secrets removed.
    pub env: Vec<String>,
    /// The doctor's command line as far as it matters, secrets removed.
    pub run: String,
}

/// The other variables whose value helps a helper and holds no secret; the
/// proxies are shown only without a user part (`http://user:pass@…`).
const SHOWN: &[&str] = &[
    "ROMM_BASE_URL",
    "ROMM_PORT",
    "ROMM_BASE_PATH",
    "DISABLE_CSRF_PROTECTION",
    "ROMM_CORS_ALLOWED_ORIGINS",
    "IPV4_ONLY",
    "LOGLEVEL",
    "NO_PROXY",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
];

impl Setup {
    /// The variables of `settings` as RomM reads them: each OIDC setting with
    /// its value (a secret's removed), and each other RomM variable the env
    /// file or RomM's container sets, its value shown only when it bears on
    /// the login and can hold no secret.
    pub fn new(settings: &Settings, run: String) -> Setup {
        let mut env = Vec::new();
        for (var, setting) in settings.iter() {
            let value = if var.kind == Kind::Secret {
                REMOVED.to_string()
            } else {
                setting.raw().to_string()
            };
            env.push(line(var.name, &value, &setting.source));
        }
        for (name, setting) in settings.others() {
            env.push(line(
                name,
                &other_value(name, setting.raw()),
                &setting.source,
            ));
        }
        Setup { env, run }
    }
}

const REMOVED: &str = "(set, removed)";

/// An other variable's value as the report may show it.
fn other_value(name: &str, raw: &str) -> String {
    let proxy = name.ends_with("_PROXY") && name != "NO_PROXY";
    let shown = name.ends_with("_FILE") && !raw.contains('\n')
        || SHOWN.contains(&name)
            && (!proxy
                || url::Url::parse(raw.trim())
                    .is_ok_and(|u| u.username().is_empty() && u.password().is_none()));
    if shown {
        raw.to_string()
    } else {
        "(set, not shown)".to_string()
    }
}

/// One variable's line; a line break in its value or source shows as `\n`,
/// so that every line of the block is one variable.
fn line(name: &str, value: &str, source: &Source) -> String {
    format!("{name}={}  # {}", clean(value), clean(&source.to_string()))
}

impl Report {
    /// The report in markdown (see the module's comment).
    pub fn to_markdown(&self, setup: &Setup) -> String {
        let mut out = String::from("## romm-oidc report\n\n");
        if let Some(verdict) = &self.verdict {
            let mut lines = verdict.lines().into_iter();
            let _ = writeln!(
                out,
                "**Verdict: {} {}.** {}\n",
                mark(verdict.status).0,
                word(verdict.status),
                inline(&lines.next().unwrap_or_default())
            );
            for l in lines {
                let _ = writeln!(out, "- {}", inline(&l));
            }
            if !verdict.open.is_empty() {
                out.push('\n');
            }
        }
        let _ = writeln!(
            out,
            "| | version |\n|---|---|\n| romm-oidc | {} |\n| RomM | {} |\n| Pocket ID | {} |\n",
            version::ROMM_OIDC,
            inline(&self.version(id::ROMM_HEARTBEAT).unwrap_or("unknown".into())),
            inline(&self.pocket_id_version()),
        );
        let _ = writeln!(out, "### Findings\n\n{}.\n", self.totals());
        for status in [Status::Fail, Status::Warn] {
            for f in self.checks.iter().filter(|f| f.status == status) {
                finding(&mut out, f);
            }
        }
        let rest: Vec<&Finding> = [Status::Skip, Status::Pass]
            .iter()
            .flat_map(|s| self.checks.iter().filter(move |f| f.status == *s))
            .collect();
        if !rest.is_empty() {
            out.push_str("#### Skipped and passed\n\n");
        }
        for f in rest {
            let _ = writeln!(out, "- {}", heading(f));
            if let Some(claims) = claims(f) {
                out.push('\n');
                out.push_str(&indented(&fenced("json", &claims), "  "));
            }
        }
        if !setup.env.is_empty() {
            let _ = write!(
                out,
                "\n### Settings\n\nThe variables RomM reads, as the doctor resolved them (secrets removed), and where each came from:\n\n{}",
                fenced("sh", &setup.env.join("\n")),
            );
        }
        let _ = write!(out, "\n### Run\n\n{}", fenced("sh", &setup.run));
        out
    }

    /// The version a check's `data.version` holds.
    fn version(&self, id: &str) -> Option<String> {
        self.checks
            .iter()
            .find(|f| f.id == id)
            .and_then(|f| f.data.as_ref()?.get("version")?.as_str())
            .map(str::to_string)
    }

    /// Pocket ID's version from its API, else what discovery tells.
    fn pocket_id_version(&self) -> String {
        if let Some(v) = self.version(id::POCKETID_VERSION) {
            return v;
        }
        let family = self
            .checks
            .iter()
            .find(|f| f.id == id::DISCOVERY_METADATA)
            .and_then(|f| f.data.as_ref()?.get("provider")?.as_str());
        match family {
            Some("pocket-id-modern") => "unknown (2.10 or later, by its discovery document)".into(),
            Some("pocket-id-legacy") => "unknown (2.9 or older, by its discovery document)".into(),
            Some(_) => "unknown (the provider does not look like Pocket ID)".into(),
            None => "unknown".into(),
        }
    }
}

fn word(status: Status) -> &'static str {
    match status {
        Status::Pass => "pass",
        Status::Warn => "warn",
        Status::Fail => "fail",
        Status::Skip => "skip",
    }
}

/// `✘ fail `id` summary`, the id as code (ours), the summary escaped.
fn heading(f: &Finding) -> String {
    let view = match f.view {
        Some(super::View::Container) => " (container)",
        None => "",
    };
    format!(
        "{} {} `{}`{view}: {}",
        mark(f.status).0,
        word(f.status),
        f.id,
        inline(&f.summary)
    )
}

/// A finding not passing, in full: detail, both sides, claims, fix.
fn finding(out: &mut String, f: &Finding) {
    let _ = writeln!(out, "#### {}\n", heading(f));
    let mut body = f.detail.clone();
    if let (Some(expected), Some(found)) = (&f.expected, &f.found) {
        let _ = write!(body, "\nexpected: {expected}\nfound:    {found}");
    }
    let body = body.trim_start_matches('\n');
    if !body.is_empty() {
        out.push_str(&fenced("text", body));
        out.push('\n');
    }
    if let Some(claims) = claims(f) {
        out.push_str(&fenced("json", &claims));
        out.push('\n');
    }
    let fixes: Vec<&str> = f.fix.lines().filter(|l| !l.trim().is_empty()).collect();
    match fixes.as_slice() {
        [] => {}
        [one] => {
            let _ = writeln!(out, "**Fix:** {}\n", inline(one));
        }
        many => {
            out.push_str("**Fix:**\n\n");
            for l in many {
                let _ = writeln!(out, "- {}", inline(l));
            }
            out.push('\n');
        }
    }
}

/// A finding's claims (`data.claims`), pretty.
fn claims(f: &Finding) -> Option<String> {
    f.data
        .as_ref()
        .and_then(|d| d.get("claims"))
        .map(|c: &Value| json_pretty(c))
}

/// The characters that can start markup in a line of text: emphasis, code,
/// links and images, HTML and entities, tables, headings, Discord's spoilers
/// and mentions (`<@…>`). The characters of host names and email addresses
/// (`. - _ + @ : / %`) are not among them, so `--redact-hosts` still finds
/// them; `_` emphasis and bare links show only what they say.
const MARKUP: &[char] = &[
    '\\', '`', '*', '[', ']', '<', '>', '|', '~', '&', '#', '!', '(', ')', '{', '}',
];

/// Text outside code, made inert: unsafe characters shown as escapes, and
/// every markup character backslash-escaped, which CommonMark, GitHub and
/// Discord all render as the character itself.
pub fn inline(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in clean(text).chars() {
        if MARKUP.contains(&c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `text` in a fenced code block (`lang` names its highlighting): each line
/// made safe, and the fence longer than any run of backticks in it, so
/// nothing in the text can end the block.
pub fn fenced(lang: &str, text: &str) -> String {
    let body: Vec<String> = text.lines().map(|l| clean(l).into_owned()).collect();
    let longest = body
        .iter()
        .flat_map(|l| l.split(|c| c != '`'))
        .map(str::len)
        .max()
        .unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    format!("{fence}{lang}\n{}\n{fence}\n", body.join("\n"))
}

fn indented(text: &str, by: &str) -> String {
    text.lines().map(|l| format!("{by}{l}\n")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::{FlagValues, Inputs};

    #[test]
    fn failures_come_first_then_warnings_then_skipped_and_passed_with_the_versions_found() {
        let report = Report {
            checks: vec![
                Finding::pass(id::ROMM_HEARTBEAT, "RomM runs")
                    .data(serde_json::json!({ "version": "5.2.0" })),
                Finding::warn(id::DISCOVERY_ISSUER, "issuer differs").fix("Set A"),
                Finding::skip(id::ROMM_USERS, "not asked"),
                Finding::fail(id::CONFIG_CLIENT, "no secret ```\n# x")
                    .detail("sent ```` then <b>")
                    .mismatch("x", "y")
                    .fix("Set B\nthen C"),
            ],
            verdict: None,
        };
        let run = "romm-oidc doctor".to_string();
        let text = report.to_markdown(&Setup {
            env: Vec::new(),
            run,
        });
        let at = |needle: &str| {
            text.find(needle)
                .unwrap_or_else(|| panic!("{needle}:\n{text}"))
        };
        assert!(at("✘ fail `config.client`") < at("⚠ warn `discovery.issuer`"));
        assert!(at("⚠ warn `discovery.issuer`") < at("– skip `romm.users`"));
        assert!(at("– skip `romm.users`") < at("✔ pass `romm.heartbeat`"));
        assert!(
            text.contains("| RomM | 5.2.0 |\n| Pocket ID | unknown |"),
            "{text}"
        );
        assert!(text.contains("no secret \\`\\`\\`\\\\n\\# x"), "{text}");
        assert!(
            text.contains("`````text\nsent ```` then <b>\nexpected: x\nfound:    y\n`````"),
            "{text}"
        );
        assert!(text.contains("**Fix:**\n\n- Set B\n- then C\n"), "{text}");
        assert!(text.contains("**Fix:** Set A\n"), "{text}");
        assert!(!text.contains("### Settings"), "{text}");
    }

    #[test]
    fn the_settings_show_no_secret_and_only_the_other_variables_that_help() {
        let container = crate::container::RommEnv::of(&[
            ("ROMM_BASE_URL", "https://romm.example.com"),
            ("DB_PASSWD", "db-password-value"),
            ("ROMM_AUTH_SECRET_KEY", "auth-secret-value"),
        ]);
        let settings = Settings::resolve(Inputs {
            flags: FlagValues::new(),
            environment: vec![
                ("OIDC_CLIENT_ID".into(), "romm".into()),
                ("OIDC_CLIENT_SECRET".into(), "client-secret-value".into()),
            ],
            env_file: None,
            romm_url: None,
            secret_file: None,
            container: Some(&container),
        });
        let env = Setup::new(&settings, String::new()).env.join("\n");
        for secret in [
            "client-secret-value",
            "db-password-value",
            "auth-secret-value",
        ] {
            assert!(!env.contains(secret), "{env}");
        }
        for line in [
            "OIDC_CLIENT_ID=romm  # the environment",
            "OIDC_CLIENT_SECRET=(set, removed)  # the environment",
            "ROMM_BASE_URL=https://romm.example.com  # RomM's container",
            "DB_PASSWD=(set, not shown)  # RomM's container",
            "ROMM_AUTH_SECRET_KEY=(set, not shown)  # RomM's container",
        ] {
            assert!(env.lines().any(|l| l == line), "{line}:\n{env}");
        }
    }

    #[test]
    fn inline_text_can_make_no_link_tag_heading_or_mention() {
        let hostile = "# [x](https://evil) <img src=x> **b** @everyone `c` | d\u{1b}[2J";
        let shown = inline(hostile);
        assert_eq!(
            shown,
            r"\# \[x\]\(https://evil\) \<img src=x\> \*\*b\*\* @everyone \`c\` \| d\\x1b\[2J"
        );
        // Every markup character is escaped: none is left bare.
        let bare = shown
            .char_indices()
            .filter(|(_, c)| MARKUP.contains(c) && *c != '\\')
            .any(|(i, _)| !shown[..i].ends_with('\\'));
        assert!(!bare, "{shown}");
        assert_eq!(inline("<@123456> ||x||"), r"\<@123456\> \|\|x\|\|");
    }

    #[test]
    fn a_fence_outlasts_every_backtick_run_in_its_text() {
        assert_eq!(fenced("text", "a\nb"), "```text\na\nb\n```\n");
        let hostile = "````\n# not a heading\n`````x";
        let block = fenced("text", hostile);
        assert!(block.starts_with("``````text\n"), "{block}");
        assert!(block.ends_with("\n``````\n"), "{block}");
        assert_eq!(
            fenced("", "\u{1b}]52;c;x\u{7}"),
            "```\n\\x1b]52;c;x\\x07\n```\n"
        );
    }

    #[test]
    fn an_other_variable_shows_its_value_only_when_it_helps_and_holds_no_secret() {
        assert_eq!(
            other_value("ROMM_BASE_URL", "https://r.example.com"),
            "https://r.example.com"
        );
        assert_eq!(
            other_value("HTTPS_PROXY", "http://proxy:3128"),
            "http://proxy:3128"
        );
        for (name, value) in [
            ("HTTPS_PROXY", "http://user:pw@proxy:3128"),
            ("HTTP_PROXY", "http://:pw@proxy:3128"),
            ("DB_PASSWD", "hunter2"),
            ("ROMM_AUTH_SECRET_KEY", "k"),
            ("SENTRY_DSN", "https://key@sentry.io/1"),
        ] {
            assert_eq!(other_value(name, value), "(set, not shown)", "{name}");
        }
    }
}
