//! Sending one export request: OTLP over HTTP (protobuf) or gRPC.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
use prost::Message;

use super::{ExporterConfig, OtlpProtocol};

pub(crate) enum Transport {
    Http {
        client: reqwest::Client,
        url: String,
        headers: Vec<(String, String)>,
    },
    Grpc {
        endpoint: String,
        headers: Vec<(String, String)>,
        client: Option<LogsServiceClient<tonic::transport::Channel>>,
    },
}

impl Transport {
    pub(crate) fn new(config: &ExporterConfig) -> Result<Self, String> {
        match config.protocol {
            OtlpProtocol::HttpProtobuf => {
                let client = reqwest::Client::builder()
                    .timeout(config.timeout)
                    .build()
                    .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
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
                endpoint: config.endpoint.clone(),
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
                    .map_err(|e| format!("cannot reach {url}: {e}"))?;
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
                    let connected = LogsServiceClient::connect(endpoint.clone())
                        .await
                        .map_err(|e| format!("cannot connect to {endpoint}: {e}"))?;
                    *client = Some(connected);
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
                        Err(format!("{endpoint} refused the export: {status}"))
                    }
                }
            }
        }
    }
}
