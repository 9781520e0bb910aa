//! A PostgreSQL server of the test's own (initdb + pg_ctl on a free port, in a temp dir),
//! to stop and start under load. As root, its binaries run as the `postgres` OS user.

use std::path::PathBuf;
use std::process::Command;

pub struct OwnPostgres {
    bin: PathBuf,
    dir: tempfile::TempDir,
    pub port: u16,
}

impl OwnPostgres {
    /// Initialises and starts a server, or says why it cannot (no binaries).
    pub fn start() -> Result<Self, String> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .map_err(|e| format!("no PostgreSQL binaries under /usr/lib/postgresql: {e}"))?
            .filter_map(Result::ok)
            .map(|entry| entry.path().join("bin"))
            .filter(|bin| bin.join("initdb").exists() && bin.join("pg_ctl").exists())
            .max()
            .ok_or("no initdb/pg_ctl under /usr/lib/postgresql/*/bin")?;
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .map_err(|e| e.to_string())?
            .port();
        let server = Self { bin, dir, port };
        if is_root() {
            server.run("chown", &["-R", "postgres:", &server.path("")])?;
        }
        server.pg(
            "initdb",
            &[
                "-D",
                &server.path("data"),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
            ],
        )?;
        server.up()?;
        Ok(server)
    }

    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Starts the server and waits until it accepts connections.
    pub fn up(&self) -> Result<(), String> {
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {}",
            self.port,
            self.path("")
        );
        self.pg_ctl(&["start", "-w", "-o", &options, "-l", &self.path("log")])
    }

    /// Stops the server (fast: open transactions are rolled back, clients cut off).
    pub fn down(&self) -> Result<(), String> {
        self.pg_ctl(&["stop", "-w", "-m", "fast"])
    }

    fn pg_ctl(&self, args: &[&str]) -> Result<(), String> {
        let mut all = vec!["-D", &*self.path("data")]
            .into_iter()
            .map(str::to_owned)
            .collect::<Vec<_>>();
        all.extend(args.iter().map(|a| (*a).to_owned()));
        let all: Vec<&str> = all.iter().map(String::as_str).collect();
        self.pg("pg_ctl", &all)
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    fn pg(&self, program: &str, args: &[&str]) -> Result<(), String> {
        let program = self.bin.join(program).display().to_string();
        if is_root() {
            let mut all = vec!["-u", "postgres", "--", program.as_str()];
            all.extend_from_slice(args);
            self.run("runuser", &all)
        } else {
            self.run(&program, args)
        }
    }

    fn run(&self, program: &str, args: &[&str]) -> Result<(), String> {
        let output = Command::new(program)
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .map_err(|e| format!("cannot run {program}: {e}"))?;
        if output.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{program} {args:?} failed: {}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ))
        }
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        let _ = self.pg_ctl(&["stop", "-m", "immediate"]);
    }
}
