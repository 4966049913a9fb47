using System.Buffers;
using BitNet.Server.Options;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;

namespace BitNet.Server.Infrastructure;

/// <summary>
/// Reads to its end any request body the route did not read (a 404, a 405, a GET with a body, a 413 refused on its
/// Content-Length). Closing a connection with unread bytes makes the kernel answer with a reset, which destroys the
/// response in flight, so a client that sends its whole body before reading (most HTTP libraries) saw a broken pipe
/// instead of the status: Kestrel drains only up to the body limit. Bodies beyond <see cref="DrainLimit"/> or slower
/// than <see cref="DrainTimeout"/> are still cut off.
/// </summary>
public sealed class RequestBodyDrainMiddleware(RequestDelegate next, IOptions<ServerOptions> options)
{
    public static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Most bytes read and discarded after the answer: 64 MiB, or 4 x BitNet:MaxRequestBodyBytes if larger.</summary>
    public long DrainLimit { get; } = Math.Max(64L << 20, 4 * options.Value.MaxRequestBodyBytes);

    public async Task InvokeAsync(HttpContext context)
    {
        await next(context);
        var request = context.Request;
        bool hasBody = request.ContentLength > 0 || (request.ContentLength is null && request.Headers.TransferEncoding.Count > 0);
        if (!hasBody || context.RequestAborted.IsCancellationRequested || request.ContentLength > DrainLimit) return;
        // The route's limit refused the body; reading it to discard it needs the larger one.
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size) size.MaxRequestBodySize = DrainLimit;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        timeout.CancelAfter(DrainTimeout);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            while (await request.Body.ReadAsync(buffer, timeout.Token) > 0)
            {
            }
        }
        catch (Exception e) when (e is BadHttpRequestException or IOException or OperationCanceledException or InvalidOperationException)
        {
            // Too large, too slow or gone: Kestrel closes the connection, as it would have anyway.
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
