"""用户管理 for the office (add, disable, enable, reset a password) and 修改密码 for everyone.

A password the office gives (a new user, a reset, on the pages or the API) is the office's
choice, so its owner must set their own at the next login (``must_change=True``); 修改密码
is the one page such a user can use until then.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi import Path as PathParam
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field

from geoverify.errors import InputError, NotFoundError
from geoverify.model import ROLE_LABELS, Role
from geoverify.problems import Problem, problem_from_error
from geoverify.web.deps import (
    AccountActor,
    AccountUser,
    ActorDep,
    OfficeUser,
    SessionDep,
    SettingsDep,
    StoreDep,
    safe_next,
)
from geoverify.web.forms import MAX_PASSWORD, Form, as_dict, read_form
from geoverify.web.templating import render
from geoverify.workflows.users import (
    User,
    add_user,
    change_password,
    list_users,
    reset_password,
    set_disabled,
)
from geoverify.workflows.villages import list_villages

router = APIRouter(tags=["pages"], include_in_schema=False)
api = APIRouter(prefix="/api/v1", tags=["users"])

UserName = Annotated[str, PathParam(min_length=1, max_length=64, description="用户名")]
#: Form fields that hold a password: never shown again on a page.
_SECRET = {"password", "password2", "current_password", "new_password", "new_password2"}


def _typed(form: Form) -> dict[str, Any]:
    """What the user typed, to show the form again: every field but the passwords."""
    return {k: v for k, v in as_dict(form).items() if k not in _SECRET}


# -- pages: 用户管理 (office) ----------------------------------------------------------------------
def _users_page(
    request: Request,
    store: Any,
    session: Any,
    *,
    values: dict[str, Any] | None = None,
    problem: Problem | None = None,
    status_code: int = 200,
) -> Response:
    users = list_users(store).users
    # The note after a change names a user who exists (a link cannot make the page say more).
    names = {u.name for u in users}
    done = {k: request.query_params.get(k) for k in ("added", "disabled", "enabled", "reset")}
    return render(
        request,
        "users.html",
        session,
        status_code=status_code,
        users=users,
        villages=list_villages(store).to_json(),
        roles=ROLE_LABELS,
        v=values or {},
        problem=problem,
        done={k: x for k, x in done.items() if x in names},
    )


@router.get("/users")
def users_page(
    request: Request, store: StoreDep, session: SessionDep, user: OfficeUser
) -> Response:
    return _users_page(request, store, session)


@router.post("/users")
async def users_add(
    request: Request,
    store: StoreDep,
    settings: SettingsDep,
    session: SessionDep,
    actor: ActorDep,
    user: OfficeUser,
) -> Response:
    form = await read_form(request, settings)
    try:
        name = form.text("name", max_len=64)
        role = form.text("role", max_len=16)
        village = form.text("village", max_len=100)
        password = form.new_password("password", "password2")
        if not name:
            form.bad("name", None, "请填写用户名", "a user name is required")
        if not role:
            form.bad("role", None, "请选择角色", "choose a role")
        form.raise_problems()
        assert name is not None and role is not None
        added = add_user(
            store,
            name,
            role=role,
            password=password,
            village=village,
            actor=actor,
            must_change=True,
        )
    except (InputError, NotFoundError) as e:
        problem = problem_from_error(e)
        return _users_page(
            request,
            store,
            session,
            values=_typed(form),
            problem=problem,
            status_code=problem.status,
        )
    return RedirectResponse(f"/users?added={quote(added.name)}", status_code=303)


def _refused(request: Request, store: Any, session: Any, error: InputError) -> Response:
    """The page again with the reason an action on one user was refused."""
    problem = problem_from_error(error)
    return _users_page(request, store, session, problem=problem, status_code=problem.status)


@router.post("/users/{name}/disable")
def users_disable(
    request: Request,
    name: UserName,
    store: StoreDep,
    session: SessionDep,
    actor: ActorDep,
    user: OfficeUser,
) -> Response:
    try:
        done = set_disabled(store, name, disabled=True, actor=actor)
    except InputError as e:
        return _refused(request, store, session, e)
    return RedirectResponse(f"/users?disabled={quote(done.name)}", status_code=303)


@router.post("/users/{name}/enable")
def users_enable(name: UserName, store: StoreDep, actor: ActorDep, user: OfficeUser) -> Response:
    done = set_disabled(store, name, disabled=False, actor=actor)
    return RedirectResponse(f"/users?enabled={quote(done.name)}", status_code=303)


@router.post("/users/{name}/password")
async def users_reset(
    request: Request,
    name: UserName,
    store: StoreDep,
    settings: SettingsDep,
    session: SessionDep,
    actor: ActorDep,
    user: OfficeUser,
) -> Response:
    form = await read_form(request, settings)
    try:
        password = form.new_password("password", "password2")
        form.raise_problems()
        done = reset_password(store, name, password=password, actor=actor, must_change=True)
    except InputError as e:
        return _refused(request, store, session, e)
    return RedirectResponse(f"/users?reset={quote(done.name)}", status_code=303)


# -- pages: 修改密码 (every user) ------------------------------------------------------------------
def _password_page(
    request: Request, session: Any, *, problem: Problem | None = None, status_code: int = 200
) -> Response:
    return render(
        request,
        "account_password.html",
        session,
        status_code=status_code,
        problem=problem,
        saved=request.query_params.get("saved"),
        next=request.query_params.get("next") or "",
    )


@router.get("/account/password")
def password_page(request: Request, session: SessionDep, user: AccountUser) -> Response:
    return _password_page(request, session)


@router.post("/account/password")
async def password_submit(
    request: Request,
    store: StoreDep,
    settings: SettingsDep,
    session: SessionDep,
    actor: AccountActor,
    user: AccountUser,
) -> Response:
    assert session is not None
    form = await read_form(request, settings)
    try:
        current = form.password("current_password")
        new = form.new_password("new_password", "new_password2")
        form.raise_problems()
        change_password(
            store,
            user.name,
            current=current,
            new=new,
            actor=actor,
            keep_session=session.token_hash,
        )
    except InputError as e:
        problem = problem_from_error(e)
        return _password_page(request, session, problem=problem, status_code=problem.status)
    # An initial password replaced on the way to a page (the login's next): on to it.
    after = form.text("next", max_len=500)
    if user.must_change_password and after:
        return RedirectResponse(safe_next(request, after), status_code=303)
    return RedirectResponse("/account/password?saved=1", status_code=303)


# -- API -------------------------------------------------------------------------------------------
class UserOut(BaseModel):
    """A user as the service shows it (never a password or its hash)."""

    name: str = Field(description="用户名")
    role: Role = Field(description="角色")
    role_label: str = Field(description="角色（中文）")
    village: str | None = Field(default=None, description="村（社区）")
    village_code: str | None = Field(default=None, description="村（社区）代码")
    disabled: bool = Field(description="已停用")
    must_change_password: bool = Field(
        default=False, description="须在下次登录时修改镇平安办设置的初始密码"
    )

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls.model_validate(user.to_json())


class NewUser(BaseModel):
    name: str = Field(min_length=1, max_length=64, description="用户名")
    role: Role = Field(description="角色: office 镇平安办, village 村（社区）, viewer 只读")
    village: str | None = Field(
        default=None, max_length=100, description="村（社区）名称或代码（仅 village 角色）"
    )
    password: str = Field(min_length=1, max_length=MAX_PASSWORD, description="初始密码")


class NewPassword(BaseModel):
    password: str = Field(min_length=1, max_length=MAX_PASSWORD, description="新密码")


class PasswordChange(BaseModel):
    current_password: str = Field(min_length=1, max_length=MAX_PASSWORD, description="当前密码")
    new_password: str = Field(min_length=1, max_length=MAX_PASSWORD, description="新密码")


@api.get("/users", response_model=list[UserOut], summary="Every user (office only)")
def api_users(store: StoreDep, user: OfficeUser) -> list[UserOut]:
    return [UserOut.of(u) for u in list_users(store).users]


@api.post(
    "/users",
    response_model=UserOut,
    status_code=201,
    summary="Add a user (office only)",
    description="The user must change this password before anything else at their first login.",
)
def api_add_user(body: NewUser, store: StoreDep, actor: ActorDep, user: OfficeUser) -> UserOut:
    added = add_user(
        store,
        body.name,
        role=body.role.value,
        password=body.password,
        village=body.village or None,
        actor=actor,
        must_change=True,
    )
    return UserOut.of(added)


@api.post(
    "/users/{name}/disable",
    response_model=UserOut,
    summary="Disable a user: they cannot log in, their sessions end (office only)",
)
def api_disable(name: UserName, store: StoreDep, actor: ActorDep, user: OfficeUser) -> UserOut:
    return UserOut.of(set_disabled(store, name, disabled=True, actor=actor))


@api.post("/users/{name}/enable", response_model=UserOut, summary="Enable a user (office only)")
def api_enable(name: UserName, store: StoreDep, actor: ActorDep, user: OfficeUser) -> UserOut:
    return UserOut.of(set_disabled(store, name, disabled=False, actor=actor))


@api.post(
    "/users/{name}/password",
    response_model=UserOut,
    summary="Give a user a new password; their sessions end (office only)",
    description="The user must change this password before anything else at their next login.",
)
def api_reset_password(
    name: UserName, body: NewPassword, store: StoreDep, actor: ActorDep, user: OfficeUser
) -> UserOut:
    return UserOut.of(
        reset_password(store, name, password=body.password, actor=actor, must_change=True)
    )


@api.post(
    "/me/password",
    status_code=204,
    summary="Change your own password; your other sessions end",
    description=(
        "Also open to a user whose password the office set (a new user, a reset), who may do "
        "nothing else until this is done; the new password must differ from that one."
    ),
)
def api_change_password(
    body: PasswordChange,
    store: StoreDep,
    session: SessionDep,
    actor: AccountActor,
    user: AccountUser,
) -> Response:
    assert session is not None
    change_password(
        store,
        user.name,
        current=body.current_password,
        new=body.new_password,
        actor=actor,
        keep_session=session.token_hash,
    )
    return Response(status_code=204)
