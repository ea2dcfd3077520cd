//! The OpenTelemetry exporter as the host runs it: started from the `[telemetry]`
//! settings, and its status for Settings.

use warden_audit::{AuditStore, Exporter, ExporterConfig, OtlpProtocol};
use warden_policy::PolicyError;
use warden_policy::config::TelemetryConfig;
use warden_protocol::TelemetryStatus;

use super::HostError;

/// A running exporter and the settings it runs with.
pub(crate) struct Telemetry {
    exporter: Exporter,
    config: TelemetryConfig,
}

/// Start exporting if a collector endpoint is configured.
pub(crate) fn start(
    store: &AuditStore,
    t: &TelemetryConfig,
) -> Result<Option<Telemetry>, HostError> {
    let Some(endpoint) = &t.otlp_endpoint else {
        return Ok(None);
    };
    let invalid = |m: String| HostError::Config(PolicyError::Invalid(m));
    let protocol = match t.otlp_protocol.as_str() {
        "http" => OtlpProtocol::HttpProtobuf,
        "grpc" => OtlpProtocol::Grpc,
        other => {
            return Err(invalid(format!(
                "telemetry.otlp_protocol is {other:?}; expected \"http\" or \"grpc\""
            )));
        }
    };
    let exporter = store
        .start_export(ExporterConfig {
            protocol,
            endpoint: endpoint.clone(),
            headers: t
                .otlp_headers
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            export_prompts: t.export_prompts,
            batch_size: 2000,
            backlog_warning: t.backlog_warning,
            backlog_cap: t.backlog_cap,
            timeout: std::time::Duration::from_secs(10),
            tls: tls_settings(t).map_err(invalid)?,
        })
        .map_err(|e| invalid(format!("telemetry: {e}")))?;
    Ok(Some(Telemetry {
        exporter,
        config: t.clone(),
    }))
}

/// The collector TLS files named by `telemetry.otlp_ca_file`, `otlp_client_cert` and
/// `otlp_client_key`, read now so a missing or unreadable file is a clear error.
fn tls_settings(t: &TelemetryConfig) -> Result<warden_audit::TlsSettings, String> {
    let read = |key: &str, path: &std::path::Path| {
        std::fs::read(path)
            .map_err(|e| format!("telemetry.{key}: cannot read {}: {e}", path.display()))
    };
    let ca_pem = match &t.otlp_ca_file {
        Some(path) => Some(read("otlp_ca_file", path)?),
        None => None,
    };
    let client_identity = match (&t.otlp_client_cert, &t.otlp_client_key) {
        (Some(cert), Some(key)) => Some((
            read("otlp_client_cert", cert)?,
            read("otlp_client_key", key)?,
        )),
        (None, None) => None,
        (Some(_), None) => {
            return Err("telemetry.otlp_client_cert is set without otlp_client_key".into());
        }
        (None, Some(_)) => {
            return Err("telemetry.otlp_client_key is set without otlp_client_cert".into());
        }
    };
    Ok(warden_audit::TlsSettings {
        ca_pem,
        client_identity,
    })
}

/// What Settings shows of the exporter.
pub(crate) fn status(telemetry: Option<&Telemetry>) -> TelemetryStatus {
    match telemetry {
        Some(Telemetry { exporter, config }) => {
            let s = exporter.status();
            TelemetryStatus {
                enabled: true,
                endpoint: config.otlp_endpoint.clone().unwrap_or_default(),
                protocol: config.otlp_protocol.clone(),
                state: s.state,
                backlog: s.backlog,
                exported: s.exported,
                last_error: s.last_error,
                backlog_warning: s.backlog_warning,
                backlog_cap: config.backlog_cap,
                skipped: s.skipped,
            }
        }
        None => TelemetryStatus {
            enabled: false,
            endpoint: String::new(),
            protocol: String::new(),
            state: "off".into(),
            backlog: 0,
            exported: 0,
            last_error: None,
            backlog_warning: false,
            backlog_cap: 0,
            skipped: 0,
        },
    }
}
