//! `paddle cluster cert`: an HTTPS certificate for the web UI, signed by
//! the cluster CA, so staff devices that trust that one CA trust every
//! node's pages. Runs on a voter's machine, offline: it reads the CA key
//! from the data dir (learners have none) and asks no node.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Context};
use paddle_consensus::tls::fingerprint_pem;

use crate::cli::CertArgs;
use crate::cluster::datadir::DataDir;
use crate::cluster::secrets::{write_private, write_public};

/// `paddle cluster cert`: write the chain and key, say where the CA
/// certificate is. Exit 1 with the reason when it cannot.
pub fn cluster_cert(args: &CertArgs) -> ExitCode {
    match issue(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("paddle cluster cert: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn issue(args: &CertArgs) -> anyhow::Result<()> {
    let dd = DataDir::new(&args.data_dir);
    if !dd.exists() {
        bail!(
            "{} holds no Paddle node (no node.json); point --data-dir at a voter's data dir",
            dd.root().display()
        );
    }
    let ca = dd.ca()?.with_context(|| {
        format!(
            "{} has no CA key ({}): only voters hold it (a learner does not); run this on a \
             voter's machine, with --data-dir at its data dir",
            dd.root().display(),
            dd.ca_key().display()
        )
    })?;
    if !ca.key_matches()? {
        bail!(
            "{} does not belong to {}; the data dir is damaged",
            dd.ca_key().display(),
            dd.ca_cert().display()
        );
    }
    for name in &args.name {
        if name.parse::<std::net::IpAddr>().is_ok() {
            bail!("--name {name} is an IP address; give it with --ip");
        }
    }
    for out in [&args.out_cert, &args.out_key] {
        if out.exists() && !args.force {
            bail!(
                "{} exists; pass --force to replace it (nodes using it keep the old one until restarted)",
                out.display()
            );
        }
    }
    let web = ca
        .sign_web(&args.name, &args.ip, args.days)
        .context("issuing the certificate")?;
    write_private(&args.out_key, &web.key_pem)
        .with_context(|| format!("writing {}", args.out_key.display()))?;
    write_public(&args.out_cert, &web.chain_pem)
        .with_context(|| format!("writing {}", args.out_cert.display()))?;
    let ca_path = match &args.ca_out {
        Some(path) => {
            write_public(path, &ca.cert_pem)
                .with_context(|| format!("writing {}", path.display()))?;
            path.clone()
        }
        None => dd.ca_cert(),
    };
    let names: Vec<String> = args
        .name
        .iter()
        .cloned()
        .chain(args.ip.iter().map(ToString::to_string))
        .collect();
    println!(
        "Wrote {} (certificate for {}, valid {} days) and {} (key, mode 0600).",
        args.out_cert.display(),
        names.join(", "),
        args.days,
        args.out_key.display()
    );
    println!(
        "Serve with:  paddle serve --tls-cert {} --tls-key {}",
        shown(&args.out_cert),
        shown(&args.out_key)
    );
    println!(
        "Trust on staff devices: the cluster CA certificate {} (SHA-256 {})",
        ca_path.display(),
        fingerprint_pem(&ca.cert_pem)?
    );
    println!("  (deploy/README.md, \"HTTPS\", says how on Android, iOS and desktop browsers.)");
    Ok(())
}

fn shown(path: &Path) -> String {
    path.display().to_string()
}
