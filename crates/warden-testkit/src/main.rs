//! `scripted-model --script FILE [--listen ADDR] [--api-key KEY]`: serve a script for
//! end-to-end tests. Prints the base URL on its first line.

use warden_testkit::{Script, ScriptedModel};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let (mut script, mut listen, mut api_key) = (None, "127.0.0.1:0".to_string(), None);
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .ok_or_else(|| anyhow::anyhow!("{flag} needs a value"))?;
        match flag.as_str() {
            "--script" => script = Some(value),
            "--listen" => listen = value,
            "--api-key" => api_key = Some(value),
            other => anyhow::bail!("unknown option {other}"),
        }
    }
    let path = script.ok_or_else(|| anyhow::anyhow!("--script FILE is required"))?;
    let text = std::fs::read_to_string(&path).map_err(|e| anyhow::anyhow!("{path}: {e}"))?;
    let script: Script = serde_json::from_str(&text).map_err(|e| anyhow::anyhow!("{path}: {e}"))?;
    let server = ScriptedModel::start_on(&listen, script, api_key).await?;
    println!("{}", server.base_url);
    server.wait().await;
    Ok(())
}
