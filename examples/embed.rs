//! Embedding lb: build a VIP in code, run it with health checks on your own runtime (one call,
//! validated), change its servers by name while it runs, and stop it.
//! `cargo run --example embed`
use lb_core::model::{AdminState, Server, ServerId, Vip};
use lb_proxy::RunningVip;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut backends = Vec::new();
    for name in ["blue", "green"] {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        backends.push(listener.local_addr()?);
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let _ = client.write_all(name.as_bytes()).await;
            }
        });
    }
    let mut vip = Vip::new("app", "127.0.0.1:0".parse()?);
    vip.servers = vec![
        Server::new(ServerId(0), "blue", backends[0]),
        Server::new(ServerId(1), "green", backends[1]),
    ];
    let running = RunningVip::start(vip)?;
    let address = running.service.local_addrs()[0];
    for _ in 0..2 {
        println!("served by {}", ask(address).await?);
    }
    running.set_admin_state("blue", AdminState::Drain)?; // new clients go to green only
    println!(
        "after draining blue: {} and {}",
        ask(address).await?,
        ask(address).await?
    );
    running.stop().await;
    Ok(())
}

async fn ask(address: std::net::SocketAddr) -> std::io::Result<String> {
    let mut reply = String::new();
    TcpStream::connect(address)
        .await?
        .read_to_string(&mut reply)
        .await?;
    Ok(reply)
}
