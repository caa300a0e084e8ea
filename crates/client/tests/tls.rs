//! [S] finding 17: the client had no TLS, so `https://` and `wss://` node addresses could
//! not be used and anything across a network went in plain text. Both now open with a TLS
//! handshake (a ClientHello is the first thing the server sees).

use std::time::Duration;

use atoll_client::model::StreamQuery;
use atoll_client::Client;
use tokio::io::AsyncReadExt;

#[tokio::test]
async fn https_and_wss_addresses_refuse_plain_text() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let server = tokio::spawn(async move {
        let mut openings = Vec::new();
        for _ in 0..2 {
            let (mut socket, _) = listener.accept().await.expect("accept");
            let mut first = [0u8; 3];
            socket.read_exact(&mut first).await.expect("read");
            openings.push(first);
        }
        openings
    });
    let client = Client::new(&format!("https://{address}")).expect("client");
    let limit = Duration::from_secs(10);
    assert!(tokio::time::timeout(limit, client.status()).await.expect("in time").is_err());
    let query = StreamQuery::default();
    let stream = tokio::time::timeout(limit, client.stream(&query)).await.expect("in time");
    assert!(stream.is_err());
    let openings = tokio::time::timeout(limit, server).await;
    for opening in openings.expect("both connections were opened").expect("server") {
        // A TLS record: content type handshake (22), protocol version 3.x.
        assert_eq!(opening[..2], [0x16, 0x03], "not a TLS handshake: {opening:?}");
    }
}
