import { useApp } from '../context';
import { homeOf } from '../home';
import { hrefOf } from '../router';

/** Signed in, but not in a group that may open this page: say so plainly, and where to go instead. */
export function Forbidden(props: { page: string; need: readonly string[] }) {
  const { session } = useApp();
  return (
    <section class="forbidden" aria-labelledby="forbidden-title">
      <h1 id="forbidden-title">You cannot open the {props.page.toLowerCase()}</h1>
      <p role="alert">
        The {props.page.toLowerCase()} is for {props.need.join(' or ')} staff. You are signed in as{' '}
        <strong>{session.username}</strong>, who is in{' '}
        {session.groups.length ? session.groups.join(' and ') : 'no group'}.
      </p>
      <p>
        If you need it, ask an administrator to add you to the right group. Meanwhile,{' '}
        <a href={hrefOf(homeOf(session.groups))}>go to your own page</a>.
      </p>
    </section>
  );
}

export function NotFound() {
  const { session } = useApp();
  return (
    <section>
      <h1>No such page</h1>
      <p>
        <a href={hrefOf(homeOf(session.groups))}>Go to your own page</a>.
      </p>
    </section>
  );
}
