//! A fake `wardend` for the integration tests: a Unix socket in a temp dir that speaks the
//! control protocol, answers the hello, records each request and answers it from a closure.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};

use tempfile::TempDir;
use tokio::net::{UnixListener, UnixStream};
use tokio::runtime::Runtime;
use warden_core::protocol::{HelloRequest, Request, Response, Transport};

/// What the fake daemon sends back.
pub enum Reply {
    /// A message, encoded by the protocol.
    Message(Response),
    /// A frame with exactly this JSON.
    Raw(String),
}

impl From<Response> for Reply {
    fn from(response: Response) -> Self {
        Self::Message(response)
    }
}

type Answer = dyn Fn(&Request) -> Reply + Send + Sync;
type Hello = dyn Fn(&HelloRequest) -> Response + Send + Sync;

/// A fake daemon listening on `<tempdir>/run/wardend.sock` until dropped.
pub struct FakeDaemon {
    /// The temp dir holding the socket's directory.
    pub dir: TempDir,
    /// The socket.
    pub socket: PathBuf,
    requests: Arc<Mutex<Vec<Request>>>,
    // Dropped last: stops the accept loop.
    _runtime: Runtime,
}

impl FakeDaemon {
    /// A daemon of `version` that accepts the hello and answers requests with `answer`.
    pub fn start(answer: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> Self {
        Self::start_with_hello(|hello| hello.answer(env!("CARGO_PKG_VERSION")), answer)
    }

    /// A daemon that answers the hello with `hello` and requests with `answer`.
    pub fn start_with_hello(
        hello: impl Fn(&HelloRequest) -> Response + Send + Sync + 'static,
        answer: impl Fn(&Request) -> Reply + Send + Sync + 'static,
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("run")).unwrap();
        let socket = dir.path().join("run/wardend.sock");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let listener = {
            let _guard = runtime.enter();
            UnixListener::bind(&socket).unwrap()
        };
        let requests = Arc::new(Mutex::new(Vec::new()));
        let hello: Arc<Hello> = Arc::new(hello);
        let answer: Arc<Answer> = Arc::new(answer);
        let recorded = Arc::clone(&requests);
        runtime.spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (hello, answer, recorded) = (
                    Arc::clone(&hello),
                    Arc::clone(&answer),
                    Arc::clone(&recorded),
                );
                tokio::spawn(serve(stream, hello, answer, recorded));
            }
        });
        Self {
            dir,
            socket,
            requests,
            _runtime: runtime,
        }
    }

    /// The requests received after the hellos, in order.
    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }

    /// Runs `wardenctl --socket <socket> ARGS`.
    pub fn ctl(&self, args: &[&str]) -> Output {
        let socket = self.socket.to_str().unwrap();
        let mut full = vec!["--socket", socket];
        full.extend_from_slice(args);
        ctl(&full)
    }
}

/// One connection: the hello, then one answer per request until the client closes.
async fn serve(
    stream: UnixStream,
    hello: Arc<Hello>,
    answer: Arc<Answer>,
    recorded: Arc<Mutex<Vec<Request>>>,
) {
    let mut transport = Transport::server(stream);
    let Ok(Some(Request::Hello(request))) = transport.recv::<Request>().await else {
        return;
    };
    let response = hello(&request);
    let accepted = matches!(response, Response::Hello(_));
    if transport.send(&response).await.is_err() || !accepted {
        return;
    }
    while let Ok(Some(request)) = transport.recv::<Request>().await {
        recorded.lock().unwrap().push(request.clone());
        let sent = match answer(&request) {
            Reply::Message(response) => transport.send(&response).await,
            Reply::Raw(json) => transport.send_frame(json.as_bytes(), "response").await,
        };
        if sent.is_err() {
            return;
        }
    }
}

/// Runs `wardenctl ARGS` with no stdin (so never a terminal) and without `WARDEN_SOCKET`.
pub fn ctl(args: &[&str]) -> Output {
    ctl_cmd(args).output().unwrap()
}

/// The `wardenctl ARGS` command, to adjust before running.
pub fn ctl_cmd(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_wardenctl"));
    command
        .args(args)
        .env_remove("WARDEN_SOCKET")
        .stdin(Stdio::null());
    command
}

/// Stdout as text.
pub fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

/// Stderr as text.
pub fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

/// Whether this process runs as root (who bypasses file permissions).
pub fn is_root(dir: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let probe = dir.join("uid-probe");
    std::fs::write(&probe, b"").unwrap();
    std::fs::metadata(&probe).unwrap().uid() == 0
}
