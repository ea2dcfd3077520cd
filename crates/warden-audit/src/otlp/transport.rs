//! Sending one export request: OTLP over HTTP (protobuf) or gRPC.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
use prost::Message;

use super::{ExporterConfig, OtlpProtocol, TlsSettings};

pub(crate) enum Transport {
    Http {
        client: reqwest::Client,
        url: String,
        headers: Vec<(String, String)>,
    },
    Grpc {
        endpoint: Box<tonic::transport::Endpoint>,
        headers: Vec<(String, String)>,
        client: Option<LogsServiceClient<tonic::transport::Channel>>,
    },
}

/// The HTTP client, trusting `tls`'s authorities (if any) instead of the system's.
fn http_client(config: &ExporterConfig) -> Result<reqwest::Client, String> {
    let mut builder = reqwest::Client::builder().timeout(config.timeout);
    let TlsSettings {
        ca_pem,
        client_identity,
    } = &config.tls;
    if let Some(pem) = ca_pem {
        let roots = reqwest::Certificate::from_pem_bundle(pem)
            .map_err(|e| format!("the CA file holds no usable certificate: {e}"))?;
        builder = builder.tls_certs_only(roots);
    }
    if let Some((cert, key)) = client_identity {
        let mut pem = cert.clone();
        pem.push(b'\n');
        pem.extend_from_slice(key);
        let identity = reqwest::Identity::from_pem(&pem)
            .map_err(|e| format!("the client certificate or key is not usable: {e}"))?;
        builder = builder.identity(identity);
    }
    builder
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}

/// The gRPC endpoint, with TLS for `https://` addresses.
fn grpc_endpoint(config: &ExporterConfig) -> Result<tonic::transport::Endpoint, String> {
    use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity};
    let endpoint = Endpoint::from_shared(config.endpoint.clone())
        .map_err(|e| format!("{} is not a gRPC address: {e}", config.endpoint))?
        .timeout(config.timeout)
        .connect_timeout(config.timeout);
    if !config.endpoint.starts_with("https://") {
        return Ok(endpoint);
    }
    let mut tls = ClientTlsConfig::new();
    match &config.tls.ca_pem {
        Some(pem) => tls = tls.ca_certificate(Certificate::from_pem(pem)),
        None => tls = tls.with_native_roots(),
    }
    if let Some((cert, key)) = &config.tls.client_identity {
        tls = tls.identity(Identity::from_pem(cert, key));
    }
    endpoint
        .tls_config(tls)
        .map_err(|e| format!("TLS settings for {}: {e}", config.endpoint))
}

impl Transport {
    pub(crate) fn new(config: &ExporterConfig) -> Result<Self, String> {
        match config.protocol {
            OtlpProtocol::HttpProtobuf => {
                let client = http_client(config)?;
                let base = config.endpoint.trim_end_matches('/');
                let url = if base.ends_with("/v1/logs") {
                    base.to_string()
                } else {
                    format!("{base}/v1/logs")
                };
                Ok(Self::Http {
                    client,
                    url,
                    headers: config.headers.clone(),
                })
            }
            OtlpProtocol::Grpc => Ok(Self::Grpc {
                endpoint: Box::new(grpc_endpoint(config)?),
                headers: config.headers.clone(),
                client: None,
            }),
        }
    }

    /// Send and wait for the collector's acknowledgement.
    pub(crate) async fn send(&mut self, request: ExportLogsServiceRequest) -> Result<(), String> {
        match self {
            Self::Http {
                client,
                url,
                headers,
            } => {
                let mut builder = client
                    .post(url.as_str())
                    .header("content-type", "application/x-protobuf");
                for (k, v) in headers.iter() {
                    builder = builder.header(k.as_str(), v.as_str());
                }
                let response = builder
                    .body(request.encode_to_vec())
                    .send()
                    .await
                    .map_err(|e| {
                        format!(
                            "cannot reach {url}: {}",
                            warden_protocol::error_with_causes(&e)
                        )
                    })?;
                let status = response.status();
                if status.is_success() {
                    Ok(())
                } else {
                    let body = response.text().await.unwrap_or_default();
                    Err(format!(
                        "{url} answered HTTP {}: {}",
                        status.as_u16(),
                        body.chars().take(200).collect::<String>()
                    ))
                }
            }
            Self::Grpc {
                endpoint,
                headers,
                client,
            } => {
                if client.is_none() {
                    let channel = endpoint.connect().await.map_err(|e| {
                        format!(
                            "cannot connect to {}: {}",
                            endpoint.uri(),
                            warden_protocol::error_with_causes(&e)
                        )
                    })?;
                    *client = Some(LogsServiceClient::new(channel));
                }
                let Some(grpc) = client.as_mut() else {
                    return Err("no gRPC client".into());
                };
                let mut call = tonic::Request::new(request);
                for (k, v) in headers.iter() {
                    let key =
                        tonic::metadata::MetadataKey::from_bytes(k.to_ascii_lowercase().as_bytes())
                            .map_err(|e| format!("header {k}: {e}"))?;
                    let value = v.parse().map_err(|e| format!("header {k}: {e}"))?;
                    call.metadata_mut().insert(key, value);
                }
                match grpc.export(call).await {
                    Ok(_) => Ok(()),
                    Err(status) => {
                        // Reconnect next time.
                        *client = None;
                        Err(format!("{} refused the export: {status}", endpoint.uri()))
                    }
                }
            }
        }
    }
}
