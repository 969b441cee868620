//! What a key means. Keys follow k9s/bottom: `?` lists them all. `k` is
//! kill and `l` latency, so moving up the node list is `↑` (or `K`),
//! `j`/`↓` move down, and `tab`/`shift-tab`, `←`/`→` (or `h`) move between
//! panels.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::state::Overlay;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Ask to quit (confirmed when the run is live).
    Quit,
    /// Quit now (ctrl-c twice, or `y` in the confirmation).
    QuitNow,
    Back,
    Help,
    NextPanel,
    PrevPanel,
    NextNode,
    PrevNode,
    ScrollUp,
    ScrollDown,
    Kill,
    PowerLoss,
    PauseToggle,
    Restart,
    Failover,
    /// Empty the selected cache (Redis, memcached, DAX).
    Flush,
    Latency,
    Partition,
    HealAll,
    ToggleLoad,
    Export,
}

/// One row of the help overlay: keys, what they do.
pub const HELP: &[(&str, &str)] = &[
    ("tab / shift-tab, ← → h", "move between panels"),
    ("j ↓  /  ↑ K", "select the next / previous node"),
    ("pgup pgdn", "scroll the event log"),
    ("k", "kill the selected node (SIGKILL; r brings it back)"),
    (
        "p",
        "power loss: kill, drop every byte not fsynced, restart after 2 s",
    ),
    ("z", "pause / resume the selected node (SIGSTOP / SIGCONT)"),
    ("r", "restart the selected node (same port and data)"),
    ("f", "failover of the selected node's group"),
    (
        "c",
        "flush the selected cache (Redis FLUSHALL, memcached, DAX caches)",
    ),
    ("l", "latency on its link: +10, +50, +200 ms, then off"),
    ("x", "partition its link: one-way, both ways, then healed"),
    ("H", "heal every fault"),
    ("space", "pause / resume the load"),
    (
        "e",
        "end the load now, check every session, export the report",
    ),
    ("? / esc", "this help / close it"),
    ("q, ctrl-c", "quit (asks first while the run is live)"),
];

/// The action of `key`, given what covers the screen.
pub fn of_key(key: KeyEvent, overlay: Overlay) -> Option<Action> {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    if ctrl && key.code == KeyCode::Char('c') {
        return Some(if overlay == Overlay::ConfirmQuit {
            Action::QuitNow
        } else {
            Action::Quit
        });
    }
    match overlay {
        Overlay::ConfirmQuit => {
            return match key.code {
                KeyCode::Char('y' | 'Y' | 'q') | KeyCode::Enter => Some(Action::QuitNow),
                KeyCode::Char('n' | 'N') | KeyCode::Esc => Some(Action::Back),
                _ => None,
            };
        }
        Overlay::Help => {
            return match key.code {
                KeyCode::Esc | KeyCode::Char('?') => Some(Action::Back),
                KeyCode::Char('q') => Some(Action::Quit),
                _ => None,
            };
        }
        Overlay::None => {}
    }
    Some(match key.code {
        KeyCode::Char('q') => Action::Quit,
        KeyCode::Esc => Action::Back,
        KeyCode::Char('?') => Action::Help,
        KeyCode::Tab => Action::NextPanel,
        KeyCode::BackTab => Action::PrevPanel,
        KeyCode::Right => Action::NextPanel,
        KeyCode::Left | KeyCode::Char('h') => Action::PrevPanel,
        KeyCode::Down | KeyCode::Char('j') => Action::NextNode,
        KeyCode::Up | KeyCode::Char('K') => Action::PrevNode,
        KeyCode::PageUp => Action::ScrollUp,
        KeyCode::PageDown => Action::ScrollDown,
        KeyCode::Char('k') => Action::Kill,
        KeyCode::Char('p') => Action::PowerLoss,
        KeyCode::Char('z') => Action::PauseToggle,
        KeyCode::Char('r') => Action::Restart,
        KeyCode::Char('f') => Action::Failover,
        KeyCode::Char('c') => Action::Flush,
        KeyCode::Char('l') => Action::Latency,
        KeyCode::Char('x') => Action::Partition,
        KeyCode::Char('H') => Action::HealAll,
        KeyCode::Char(' ') => Action::ToggleLoad,
        KeyCode::Char('e') => Action::Export,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(c: KeyCode) -> KeyEvent {
        KeyEvent::new(c, KeyModifiers::NONE)
    }

    #[test]
    fn destructive_keys_and_navigation() {
        let none = Overlay::None;
        assert_eq!(of_key(key(KeyCode::Char('k')), none), Some(Action::Kill));
        assert_eq!(
            of_key(key(KeyCode::Char('p')), none),
            Some(Action::PowerLoss)
        );
        assert_eq!(of_key(key(KeyCode::Char('l')), none), Some(Action::Latency));
        assert_eq!(of_key(key(KeyCode::Char('c')), none), Some(Action::Flush));
        assert_eq!(of_key(key(KeyCode::Tab), none), Some(Action::NextPanel));
        assert_eq!(of_key(key(KeyCode::BackTab), none), Some(Action::PrevPanel));
        assert_eq!(
            of_key(key(KeyCode::Char('j')), none),
            Some(Action::NextNode)
        );
        assert_eq!(of_key(key(KeyCode::Up), none), Some(Action::PrevNode));
        assert_eq!(
            of_key(key(KeyCode::Char(' ')), none),
            Some(Action::ToggleLoad)
        );
        assert_eq!(of_key(key(KeyCode::Char('Z')), none), None);
    }

    #[test]
    fn quitting_asks_first_and_overlays_swallow_keys() {
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(of_key(ctrl_c, Overlay::None), Some(Action::Quit));
        assert_eq!(of_key(ctrl_c, Overlay::ConfirmQuit), Some(Action::QuitNow));
        let confirm = Overlay::ConfirmQuit;
        assert_eq!(
            of_key(key(KeyCode::Char('y')), confirm),
            Some(Action::QuitNow)
        );
        assert_eq!(of_key(key(KeyCode::Char('n')), confirm), Some(Action::Back));
        assert_eq!(of_key(key(KeyCode::Char('k')), confirm), None);
        assert_eq!(of_key(key(KeyCode::Char('k')), Overlay::Help), None);
        assert_eq!(of_key(key(KeyCode::Esc), Overlay::Help), Some(Action::Back));
    }
}
