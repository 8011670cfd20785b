//! `tocsin incident …`: running an incident from the terminal, through a
//! running hub's API with a token (like `tocsin drill`). Every change is
//! sent with `X-Tocsin-Interface: cli`, so the timeline says it came from
//! the CLI. Errors are the API's problem details.

use crate::cmd::get::Output;
use reqwest::Method;
use serde_json::{Value, json};
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct IncidentArgs {
    #[command(flatten)]
    pub api: Api,
    #[command(subcommand)]
    pub command: IncidentCommand,
}

/// Which hub, and the token to act with.
#[derive(Debug, clap::Args)]
pub struct Api {
    /// The tocsin to talk to.
    #[arg(
        long,
        global = true,
        env = "TOCSIN_URL",
        default_value = "http://127.0.0.1:7676"
    )]
    pub server: String,
    /// An API token (`tocsin token create`): read scope to list and show,
    /// write scope (and the responder role) to act.
    #[arg(long, global = true, env = "TOCSIN_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
}

#[derive(Debug, clap::Subcommand)]
pub enum IncidentCommand {
    /// Incidents, newest first.
    List {
        /// triggered, acknowledged, resolved, closed (repeat or comma-separate).
        #[arg(long, value_delimiter = ',')]
        status: Vec<String>,
        /// sev1 … sev5 (repeat or comma-separate).
        #[arg(long, value_delimiter = ',')]
        severity: Vec<String>,
        /// Incidents of these services.
        #[arg(long, value_delimiter = ',')]
        service: Vec<String>,
        /// Incidents of the services these teams own.
        #[arg(long, value_delimiter = ',')]
        team: Vec<String>,
        /// Words that must all appear in the title or summary.
        #[arg(long, short = 'q')]
        query: Option<String>,
        /// Opened at or after this RFC 3339 instant.
        #[arg(long)]
        from: Option<String>,
        /// Opened before this RFC 3339 instant.
        #[arg(long)]
        until: Option<String>,
        /// Only incidents numbered below this (the next page).
        #[arg(long)]
        before: Option<i64>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
        #[arg(long, short = 'o', value_enum, default_value_t = Output::Table)]
        output: Output,
    },
    /// One incident: its state, roles, stakeholders and timeline.
    Show {
        number: i64,
        #[arg(long, short = 'o', value_enum, default_value_t = Output::Table)]
        output: Output,
    },
    /// Declare an incident by hand.
    Declare {
        /// One line: what is wrong.
        title: String,
        /// The service that is broken.
        #[arg(long)]
        service: String,
        /// Other services it touches.
        #[arg(long = "also", value_delimiter = ',')]
        also_services: Vec<String>,
        /// sev1 … sev5 (or 1 … 5).
        #[arg(long, default_value = "sev3")]
        severity: String,
        /// What is known so far.
        #[arg(long)]
        summary: Option<String>,
        /// Do not page the service's escalation policy: the incident opens
        /// acknowledged, with you as commander.
        #[arg(long)]
        no_page: bool,
    },
    /// Acknowledge: escalation stops.
    Ack { number: i64 },
    /// Resolve, with an optional note on what fixed it.
    Resolve { number: i64, note: Option<String> },
    /// Add a note to the timeline.
    Note { number: i64, text: String },
    /// Change the severity: `tocsin incident sev 8 2`.
    Sev {
        number: i64,
        /// sev1 … sev5 (or 1 … 5).
        severity: String,
    },
    /// Give a role: ic (commander), comms, scribe or responder.
    Role {
        number: i64,
        role: String,
        user: String,
    },
    /// Post a stakeholder update.
    Update {
        number: i64,
        /// investigating, identified, monitoring or resolved.
        #[arg(long)]
        state: String,
        /// Also for the public status page.
        #[arg(long)]
        public: bool,
        text: String,
    },
    /// Merge this incident into another.
    Merge { number: i64, into: i64 },
    /// Close a resolved incident (Sev1/Sev2 need their review done).
    Close { number: i64 },
    /// The post-incident review.
    Review {
        number: i64,
        /// Print it as Markdown.
        #[arg(long)]
        markdown: bool,
    },
}

/// A hub's API, as the CLI.
struct Client {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl Client {
    fn new(api: &Api) -> anyhow::Result<Client> {
        let Some(token) = api.token.clone() else {
            anyhow::bail!(
                "an API token is needed: --token or TOCSIN_TOKEN (create one with `tocsin token create --scope write`)"
            );
        };
        Ok(Client {
            base: api.server.trim_end_matches('/').to_owned(),
            token,
            http: reqwest::Client::builder().build()?,
        })
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<Value>,
    ) -> anyhow::Result<reqwest::Response> {
        let mut url = reqwest::Url::parse(&format!("{}/api/v1{path}", self.base))
            .map_err(|e| anyhow::anyhow!("--server {:?} is not a URL: {e}", self.base))?;
        if !query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (k, v) in query {
                pairs.append_pair(k, v);
            }
        }
        let mut req = self
            .http
            .request(method, url)
            .bearer_auth(&self.token)
            .header("X-Tocsin-Interface", "cli");
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("cannot reach {}: {e}", self.base))?;
        if res.status().is_success() {
            return Ok(res);
        }
        let status = res.status();
        let text = res.text().await.unwrap_or_default();
        let problem: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let detail = problem
            .get("detail")
            .and_then(Value::as_str)
            .unwrap_or(text.as_str())
            .to_owned();
        let mut message = if detail.is_empty() {
            status.to_string()
        } else {
            detail.clone()
        };
        for e in problem
            .get("errors")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let field = e["field"].as_str().unwrap_or("?");
            let why = e["message"].as_str().unwrap_or("?");
            if !detail.contains(why) {
                message.push_str(&format!("\n  {field}: {why}"));
            }
        }
        if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
            message = format!("{} {message}", status.as_u16());
        }
        Err(anyhow::anyhow!(message))
    }

    async fn json(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let res = self.send(method, path, query, body).await?;
        Ok(res.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str, query: &[(&str, String)]) -> anyhow::Result<Value> {
        self.json(Method::GET, path, query, None).await
    }

    async fn post(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        self.json(Method::POST, path, &[], Some(body)).await
    }
}

/// `2`, `sev2`, `Sev2` → `sev2`.
fn severity_word(s: &str) -> String {
    let s = s.trim();
    if s.len() == 1 && s.chars().all(|c| c.is_ascii_digit()) {
        format!("sev{s}")
    } else {
        s.to_ascii_lowercase()
    }
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

/// An instant to the second, for people.
fn when(s: &str) -> String {
    match s.split_once('.') {
        Some((head, _)) => format!("{head}Z"),
        None => s.to_owned(),
    }
}

fn one_line(s: &str, max: usize) -> String {
    let flat = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > max {
        let cut: String = flat.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    } else {
        flat
    }
}

pub async fn run(args: IncidentArgs) -> anyhow::Result<ExitCode> {
    let client = Client::new(&args.api)?;
    match args.command {
        IncidentCommand::List {
            status,
            severity,
            service,
            team,
            query,
            from,
            until,
            before,
            limit,
            output,
        } => {
            let mut q: Vec<(&str, String)> = Vec::new();
            q.extend(status.into_iter().map(|v| ("status", v)));
            q.extend(severity.iter().map(|v| ("severity", severity_word(v))));
            q.extend(service.into_iter().map(|v| ("service", v)));
            q.extend(team.into_iter().map(|v| ("team", v)));
            q.extend(query.map(|v| ("q", v)));
            q.extend(from.map(|v| ("from", v)));
            q.extend(until.map(|v| ("until", v)));
            q.extend(before.map(|v| ("before", v.to_string())));
            q.push(("limit", limit.to_string()));
            let list = client.get("/incidents", &q).await?;
            match output {
                Output::Json => println!("{}", serde_json::to_string_pretty(&list)?),
                Output::Table => print_list(&list),
            }
        }
        IncidentCommand::Show { number, output } => {
            let detail = client.get(&format!("/incidents/{number}"), &[]).await?;
            let timeline = client
                .get(&format!("/incidents/{number}/timeline"), &[])
                .await?;
            match output {
                Output::Json => {
                    let mut all = detail;
                    all["timeline"] = timeline["items"].clone();
                    println!("{}", serde_json::to_string_pretty(&all)?);
                }
                Output::Table => print_incident(&detail, &timeline),
            }
        }
        IncidentCommand::Declare {
            title,
            service,
            also_services,
            severity,
            summary,
            no_page,
        } => {
            let mut body = json!({
                "title": title,
                "service": service,
                "severity": severity_word(&severity),
                "page": !no_page,
            });
            if !also_services.is_empty() {
                body["also_services"] = json!(also_services);
            }
            if let Some(s) = summary {
                body["summary"] = json!(s);
            }
            let inc = client.post("/incidents", body).await?;
            println!(
                "declared incident #{} ({}, {}): {}",
                inc["number"],
                str_of(&inc, "severity"),
                str_of(&inc, "status"),
                str_of(&inc, "title")
            );
        }
        IncidentCommand::Ack { number } => {
            let inc = client
                .post(&format!("/incidents/{number}/acknowledge"), json!({}))
                .await?;
            println!("incident #{number} {}", str_of(&inc, "status"));
        }
        IncidentCommand::Resolve { number, note } => {
            let body = match note {
                Some(n) => json!({ "note": n }),
                None => json!({}),
            };
            let inc = client
                .post(&format!("/incidents/{number}/resolve"), body)
                .await?;
            println!("incident #{number} {}", str_of(&inc, "status"));
        }
        IncidentCommand::Note { number, text } => {
            let entry = client
                .post(
                    &format!("/incidents/{number}/notes"),
                    json!({ "text": text }),
                )
                .await?;
            println!("note added to #{number} (timeline entry {})", entry["id"]);
        }
        IncidentCommand::Sev { number, severity } => {
            let inc = client
                .json(
                    Method::PATCH,
                    &format!("/incidents/{number}"),
                    &[],
                    Some(json!({ "severity": severity_word(&severity) })),
                )
                .await?;
            println!("incident #{number} is {}", str_of(&inc, "severity"));
        }
        IncidentCommand::Role { number, role, user } => {
            let inc = client
                .json(
                    Method::PUT,
                    &format!("/incidents/{number}/roles/{role}"),
                    &[],
                    Some(json!({ "user": user })),
                )
                .await?;
            print_roles(&inc);
        }
        IncidentCommand::Update {
            number,
            state,
            public,
            text,
        } => {
            let audience = if public { "public" } else { "internal" };
            let inc = client
                .post(
                    &format!("/incidents/{number}/updates"),
                    json!({ "state": state, "audience": audience, "body": text }),
                )
                .await?;
            let due = inc["cadence"]["next_update_due"]
                .as_str()
                .map(|d| format!("; next one due {}", when(d)))
                .unwrap_or_default();
            println!("{audience} update posted on #{number}{due}");
        }
        IncidentCommand::Merge { number, into } => {
            client
                .post(
                    &format!("/incidents/{number}/merge"),
                    json!({ "into": into }),
                )
                .await?;
            println!("incident #{number} merged into #{into}");
        }
        IncidentCommand::Close { number } => {
            let inc = client
                .post(&format!("/incidents/{number}/close"), json!({}))
                .await?;
            println!("incident #{number} {}", str_of(&inc, "lifecycle"));
        }
        IncidentCommand::Review { number, markdown } => {
            if markdown {
                let res = client
                    .send(
                        Method::GET,
                        &format!("/incidents/{number}/review.md"),
                        &[],
                        None,
                    )
                    .await?;
                print!("{}", res.text().await?);
            } else {
                let r = client
                    .get(&format!("/incidents/{number}/review"), &[])
                    .await?;
                print_review(number, &r);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_list(list: &Value) {
    println!(
        "{:<6} {:<13} {:<5} {:<20} {:<21} TITLE",
        "#", "STATUS", "SEV", "SERVICE", "OPENED"
    );
    let rows = list.as_array().map(Vec::as_slice).unwrap_or_default();
    for i in rows {
        println!(
            "{:<6} {:<13} {:<5} {:<20} {:<21} {}",
            format!("#{}", i["number"]),
            str_of(i, "lifecycle"),
            str_of(i, "severity"),
            str_of(i, "service"),
            when(str_of(i, "created_at")),
            one_line(str_of(i, "title"), 70)
        );
    }
    if rows.is_empty() {
        eprintln!("no incident matches");
    }
}

fn print_roles(inc: &Value) {
    let roles = inc["roles"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    if roles.is_empty() {
        println!("roles: none");
    }
    for r in roles {
        println!("{:<15} {}", str_of(r, "role"), str_of(r, "user"));
    }
}

fn print_incident(d: &Value, timeline: &Value) {
    println!("#{} {}", d["number"], str_of(d, "title"));
    let mut services = vec![str_of(d, "service").to_owned()];
    services.extend(
        d["also_services"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_owned),
    );
    println!(
        "  {} · {} · {}",
        str_of(d, "severity"),
        str_of(d, "lifecycle"),
        services.join(", ")
    );
    println!("  opened {}", when(str_of(d, "created_at")));
    if let Some(m) = d["merged_into"].as_i64() {
        println!("  merged into #{m}");
    }
    if let Some(s) = d["summary"].as_str() {
        println!("  summary: {}", one_line(s, 200));
    }
    for r in d["roles"].as_array().into_iter().flatten() {
        println!("  {:<15} {}", str_of(r, "role"), str_of(r, "user"));
    }
    let stakeholders: Vec<&str> = d["stakeholders"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    if !stakeholders.is_empty() {
        println!("  stakeholders: {}", stakeholders.join(", "));
    }
    if let Some(m) = d["cadence"]["every_minutes"].as_i64() {
        let due = d["cadence"]["next_update_due"]
            .as_str()
            .map(|t| format!(", next due {}", when(t)))
            .unwrap_or_default();
        println!("  updates every {m} min{due}");
    }
    println!("\ntimeline:");
    for i in timeline["items"].as_array().into_iter().flatten() {
        let pin = if i["pinned"].as_bool() == Some(true) {
            "*"
        } else {
            " "
        };
        println!(
            "{pin} {}  {}",
            when(str_of(i, "at")),
            one_line(str_of(i, "text"), 160)
        );
    }
}

fn print_review(number: i64, r: &Value) {
    let version = r["version"].as_i64().unwrap_or(0);
    let state = if r["done"].as_bool() == Some(true) {
        "done".to_owned()
    } else if version == 0 {
        "draft (not saved yet)".to_owned()
    } else {
        format!("version {version}, not done")
    };
    println!("review of incident #{number}: {state}");
    let summary = r["review"]["summary"].as_str().unwrap_or("");
    if !summary.is_empty() {
        println!("  summary: {}", one_line(summary, 200));
    }
    for i in r["action_items"].as_array().into_iter().flatten() {
        let done = if i["done"].as_bool() == Some(true) {
            "x"
        } else {
            " "
        };
        println!(
            "  [{done}] {} — {}, due {}",
            str_of(i, "title"),
            str_of(i, "owner"),
            str_of(i, "due_on")
        );
    }
    println!("  {}", str_of(r, "advice_summary"));
    println!("  (--markdown prints the whole review)");
}
