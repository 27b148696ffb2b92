use crate::state::Action;
use yew::prelude::*;
use zoolab_core::sim::{Role, ServerView};

/// Properties of a [`ServerCard`].
#[derive(Properties, PartialEq)]
pub struct ServerCardProps {
    /// The server as the core reports it.
    pub server: ServerView,
    /// Where the card sends the user's actions.
    pub on_action: Callback<Action>,
}

/// The plain-language line shown when hovering a role.
pub fn role_help(role: Role) -> &'static str {
    match role {
        Role::Looking => "LOOKING: electing a leader; cannot serve writes",
        Role::Following => "FOLLOWING: replicates the leader's proposals and votes on them",
        Role::Leading => "LEADING: orders every write of its epoch",
        Role::Observing => "OBSERVING: receives commits but never votes",
        Role::Down => "DOWN: crashed; keeps only what it had written to disk",
    }
}

/// One server: its id, role, epoch and zxids, and the buttons that act on it.
#[function_component(ServerCard)]
pub fn server_card(props: &ServerCardProps) -> Html {
    let s = &props.server;
    let id = s.id;
    let role = s.role.to_string();
    let (label, action) =
        if s.role == Role::Down { ("Restart", Action::Restart(id)) } else { ("Kill", Action::Kill(id)) };
    let onclick = {
        let on_action = props.on_action.clone();
        Callback::from(move |_| on_action.emit(action))
    };
    html! {
        <article class={classes!("server", role.to_lowercase())} data-server={id.0.to_string()} data-role={role.clone()}>
            <div class="server-id">{ format!("s{id}") }</div>
            <div class="role" title={role_help(s.role)}>{ role }</div>
            <dl>
                <dt title="The leader generation this server is in">{ "epoch" }</dt><dd class="epoch">{ s.epoch.0 }</dd>
                <dt title="The last transaction id in its log">{ "last zxid" }</dt><dd>{ s.last_zxid.to_string() }</dd>
            </dl>
            <button class="server-action" {onclick}>{ label }</button>
        </article>
    }
}
