//! Host memory: the peak this process reached, and what the system has left. Linux only (from
//! `/proc`); `None` elsewhere.

/// Peak resident memory of this process so far [bytes]: `VmHWM` of `/proc/self/status`. It only
/// grows, which is why `lifsim bench` runs each case in a process of its own.
pub fn peak_host_bytes() -> Option<u64> {
    proc_kib("/proc/self/status", "VmHWM:")
}

/// Memory the system can give a new process without swapping [bytes]: `MemAvailable` of
/// `/proc/meminfo`.
pub fn available_host_bytes() -> Option<u64> {
    proc_kib("/proc/meminfo", "MemAvailable:")
}

/// The CPU's model name (`/proc/cpuinfo`).
pub fn cpu_model() -> Option<String> {
    let text = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|rest| rest.split_once(':'))
        .map(|(_, name)| name.trim().to_string())
}

/// The value of the line starting with `key` in a `/proc` file, given in kB.
fn proc_kib(path: &str, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    parse_kib(&text, key)
}

fn parse_kib(text: &str, key: &str) -> Option<u64> {
    let rest = text.lines().find_map(|l| l.strip_prefix(key))?;
    let kib: u64 = rest.trim().strip_suffix("kB")?.trim().parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_kib_lines() {
        let status = "Name:\tlifsim\nVmPeak:\t  200 kB\nVmHWM:\t   1234 kB\n";
        assert_eq!(parse_kib(status, "VmHWM:"), Some(1234 * 1024));
        assert_eq!(parse_kib(status, "VmRSS:"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn this_process_has_a_peak() {
        assert!(peak_host_bytes().is_some_and(|b| b > 0));
        assert!(available_host_bytes().is_some_and(|b| b > 0));
    }
}
