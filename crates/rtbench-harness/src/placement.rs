//! Where the server and the load generator run, and why: the default split for the CPUs this
//! process may use, or what `--server-cpus` and `--client-cpus` say.
//!
//! The server keeps one core (the survey's "one core") unless told otherwise. A lean client costs
//! about what a lean server does on loopback (each side pays the other's receive path), so a 1:1
//! split caps the fastest servers at the client's limit: when the machine has them, the client
//! gets at least 2× the server's cores. It gets every other allowed CPU up to 4× the server's:
//! that covers the survey's 600k+ req/s for one Axum core (≈ 1.7 µs per request) at the 4–5 µs
//! per request a client spends here, while the suite's 64 connections still give each worker 16;
//! the rest of a big machine stays idle rather than adding workers that only thin out the
//! connections. The server takes the highest-numbered CPU and the client the lowest ones, so a
//! 2-CPU machine keeps the survey's placement (server on CPU 1, client on CPU 0).
use rtbench_results::Placement;

/// The client gets at most this many cores per server core by default.
const MAX_CLIENT_PER_SERVER_CORE: usize = 4;

/// The placement for a machine whose allowed CPUs are `allowed`, given the CPU lists the command
/// line named (either, both or none), with its reason in words.
pub fn choose_placement(
    allowed: &[usize],
    server: Option<&[usize]>,
    client: Option<&[usize]>,
) -> Placement {
    let mut allowed = allowed.to_vec();
    allowed.sort_unstable();
    allowed.dedup();
    if allowed.is_empty() {
        // The kernel would not say: CPU 0 exists everywhere.
        allowed.push(0);
    }
    let placement = |server_cpus: Vec<usize>, client_cpus: Vec<usize>, reason: String| Placement {
        server_cpus,
        client_cpus,
        reason: Some(reason),
    };
    match (server, client) {
        (Some(server), Some(client)) => placement(
            server.to_vec(),
            client.to_vec(),
            "as --server-cpus and --client-cpus say".into(),
        ),
        (Some(server), None) => {
            let client = client_share(&allowed, server);
            if client.is_empty() {
                let reason = "as --server-cpus says; no other CPU is allowed, so the client \
                              shares them and every figure is a low estimate";
                return placement(server.to_vec(), server.to_vec(), reason.into());
            }
            let reason = format!(
                "as --server-cpus says; the client gets {} of the other allowed CPUs, {}",
                client.len(),
                split_words(server.len(), client.len())
            );
            placement(server.to_vec(), client, reason)
        }
        (None, Some(client)) => {
            let server = allowed.iter().rev().find(|&&c| !client.contains(&c));
            match server {
                Some(&cpu) => placement(
                    vec![cpu],
                    client.to_vec(),
                    "as --client-cpus says; the server keeps one core, the survey's: the \
                     highest-numbered other allowed CPU"
                        .into(),
                ),
                None => placement(
                    vec![client.last().copied().unwrap_or(allowed[0])],
                    client.to_vec(),
                    "as --client-cpus says; no other CPU is allowed, so the server shares \
                     the client's last one and every figure is a low estimate"
                        .into(),
                ),
            }
        }
        (None, None) => {
            let server = vec![allowed[allowed.len() - 1]];
            let client = client_share(&allowed, &server);
            if client.is_empty() {
                return placement(
                    server.clone(),
                    server,
                    "one CPU allowed: server and client share it, so every figure is a low \
                     estimate"
                        .into(),
                );
            }
            let reason = format!(
                "{} CPUs allowed: the server keeps one core, the survey's; the client gets {}, {}",
                allowed.len(),
                client.len(),
                split_words(1, client.len())
            );
            placement(server, client, reason)
        }
    }
}

/// The lowest allowed CPUs the server does not use, at most [`MAX_CLIENT_PER_SERVER_CORE`] per
/// server core.
fn client_share(allowed: &[usize], server: &[usize]) -> Vec<usize> {
    allowed
        .iter()
        .copied()
        .filter(|c| !server.contains(c))
        .take(MAX_CLIENT_PER_SERVER_CORE * server.len().max(1))
        .collect()
}

/// How the split relates to the 2× the client should have.
fn split_words(server: usize, client: usize) -> &'static str {
    if client >= 2 * server {
        "at least 2× the server's cores (a lean client costs about what a lean server does on \
         loopback, so 1:1 would cap the fastest servers)"
    } else {
        "fewer than the 2× the server's cores it should have, as the machine has no more: the \
         client may be the limit, and each cell's headroom says when"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn default_for(cpus: usize) -> (Vec<usize>, Vec<usize>) {
        let allowed: Vec<usize> = (0..cpus).collect();
        let p = choose_placement(&allowed, None, None);
        assert!(p.reason.as_deref().is_some_and(|r| !r.is_empty()), "{p:?}");
        (p.server_cpus, p.client_cpus)
    }

    #[test]
    fn one_cpu_is_shared() {
        assert_eq!(default_for(1), (vec![0], vec![0]));
        let p = choose_placement(&[0], None, None);
        assert!(p.reason.unwrap().contains("low estimate"));
    }

    #[test]
    fn two_cpus_keep_the_surveys_placement() {
        assert_eq!(default_for(2), (vec![1], vec![0]));
        let p = choose_placement(&[0, 1], None, None);
        assert!(p.reason.unwrap().contains("fewer than the 2×"));
    }

    #[test]
    fn three_cpus_and_more_give_the_client_at_least_twice_the_servers_cores() {
        assert_eq!(default_for(3), (vec![2], vec![0, 1]));
        assert_eq!(default_for(4), (vec![3], vec![0, 1, 2]));
        assert_eq!(default_for(8), (vec![7], vec![0, 1, 2, 3]), "at most 4×");
        let p = choose_placement(&[0, 1, 2, 3], None, None);
        assert!(p.reason.unwrap().contains("at least 2×"));
    }

    #[test]
    fn the_allowed_cpus_decide_not_their_numbers() {
        let p = choose_placement(&[6, 2, 4], None, None);
        assert_eq!((p.server_cpus, p.client_cpus), (vec![6], vec![2, 4]));
        let p = choose_placement(&[], None, None);
        assert_eq!((p.server_cpus, p.client_cpus), (vec![0], vec![0]));
    }

    #[test]
    fn explicit_flags_win() {
        let all: Vec<usize> = (0..8).collect();
        let p = choose_placement(&all, Some(&[0]), Some(&[1]));
        assert_eq!((p.server_cpus, p.client_cpus), (vec![0], vec![1]));
        assert!(p
            .reason
            .unwrap()
            .contains("--server-cpus and --client-cpus"));
        // The server's list given: the client takes the others, up to 4× its cores.
        let p = choose_placement(&all, Some(&[0, 1]), None);
        assert_eq!(
            (p.server_cpus, p.client_cpus),
            (vec![0, 1], vec![2, 3, 4, 5, 6, 7])
        );
        let p = choose_placement(&[0, 1], Some(&[0, 1]), None);
        assert_eq!((p.server_cpus, p.client_cpus), (vec![0, 1], vec![0, 1]));
        assert!(p.reason.unwrap().contains("shares"));
        // The client's list given: the server keeps one other core.
        let p = choose_placement(&all, None, Some(&[0, 1, 2]));
        assert_eq!((p.server_cpus, p.client_cpus), (vec![7], vec![0, 1, 2]));
        let p = choose_placement(&[0], None, Some(&[0]));
        assert_eq!((p.server_cpus, p.client_cpus), (vec![0], vec![0]));
    }
}
